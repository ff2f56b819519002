import { InvalidServerOptionsError } from '../server/errors.js';
import { TestServer } from '../server/test-server.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { runMain, UsageError } from './usage-error.js';

const HELP = `Usage: npm run serve -- [--port N] [--host ADDR] [--tls]

--host takes a loopback address: 127.0.0.0/8, ::1 or localhost (default 127.0.0.1).

Starts the test server (load-test service + grpc.health.v1) and prints its address on the first
line of stdout. Port 0 (the default) lets the OS pick a free port. Stops on SIGINT/SIGTERM.`;

runMain(async () => {
  const { values } = parseOptions(process.argv.slice(2), {
    port: { type: 'string', default: '0' },
    host: { type: 'string', default: '127.0.0.1' },
    tls: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  });
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = parseInteger(values.port, '--port', 0, 65_535);
  const host = values.host;
  const server = await TestServer.start({ port, host, tls: values.tls }).catch((error: unknown) => {
    throw error instanceof InvalidServerOptionsError ? new UsageError(error.message) : error;
  });
  console.log(server.address);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.stop(1_000);
  return 0;
});
