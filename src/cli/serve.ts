import { InvalidServerOptionsError } from '../server/errors.js';
import { TestServer } from '../server/test-server.js';
import { UsageError } from './cli-errors.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';

const HELP = `Usage: npm run serve -- [--port N] [--host ADDR] [--tls] [--record-twice]

Starts the test server (load-test service + grpc.health.v1) and prints its address on the first
line of stdout. Stops on SIGINT/SIGTERM (exit 0); started by another process with an IPC channel
(as bench and load do), it also stops when that process goes away.

  --port N       port, 0..65535 (default 0: the OS picks a free one)
  --host ADDR    a loopback address: 127.0.0.0/8, ::1 or localhost (default 127.0.0.1)
  --tls          serve TLS with the test certificate in proto/testdata/
  --record-twice misbehave: record every request twice in the ledger, as a foreign server
                 with a bug might (to try npm run properties -- --target on a failing server)
  -h, --help     this text

Exit codes: 0 stopped by a signal or its parent, 2 bad usage, 3 I/O or environment error (the
port cannot be bound).`;

runMain(async () => {
  const { values } = parseOptions(
    process.argv.slice(2),
    {
      port: { type: 'string', default: '0' },
      host: { type: 'string', default: '127.0.0.1' },
      tls: { type: 'boolean', default: false },
      'record-twice': { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    { help: HELP },
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const port = parseInteger(values.port, '--port', 0, 65_535);
  const host = values.host;
  const server = await TestServer.start({ port, host, tls: values.tls, recordTwice: values['record-twice'] }).catch(
    (error: unknown) => {
      throw error instanceof InvalidServerOptionsError ? new UsageError(error.message) : error;
    },
  );
  console.log(server.address);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    // Started with an IPC channel: the parent's exit (even by SIGKILL) closes it.
    if (process.channel) process.once('disconnect', resolve);
  });
  await server.stop(1_000);
  if (process.connected) process.disconnect();
  return 0;
});
