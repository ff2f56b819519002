import { InvalidProxyOptionsError, InvalidToxicError, ProxyStateError } from '../faults/errors.js';
import { FaultProxy } from '../faults/fault-proxy.js';
import { parseToxicSpec, TOXIC_SYNTAX, type ToxicSpec } from '../faults/toxics.js';
import { UsageError } from './cli-errors.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';

const HELP = `Usage: npm run proxy -- --upstream HOST:PORT [--listen HOST:PORT] [--toxic SPEC]... [--seed N]

A TCP fault proxy in front of one server (toxics modelled on Toxiproxy's). Prints the address it
listens on as the first line of stdout, then forwards every connection to --upstream through the
toxics, in the order given. On SIGINT or SIGTERM (or, started with an IPC channel, when its parent
goes away) it closes every connection, prints what it saw and exits 0.

  --upstream HOST:PORT   the server to forward to (IPv6 in brackets)
  --listen HOST:PORT     where to listen; default 127.0.0.1:0 (port 0: the OS picks one)
  --toxic SPEC           a toxic; repeat for several (each is named after its type: latency,
                         latency-2, ...)
  --seed N               seed of the latency jitter (default random; printed on stderr)
  -h, --help             this text

Exit codes: 0 stopped by a signal or its parent, 2 bad usage (a toxic it cannot parse included),
3 I/O or environment error (the listen address cannot be bound).

Toxics (SPEC):
${TOXIC_SYNTAX}

Example: npm run proxy -- --upstream 127.0.0.1:50051 --toxic latency:50:10@down --toxic stall-after:4096`;

const HOST_PORT = /^(?:\[([0-9a-fA-F:.]+)\]|([A-Za-z0-9.-]+)):(\d{1,5})$/;

runMain(async () => {
  // stdout closed under us (piped into head) is handled, quietly, by runMain.
  const { values } = parseOptions(
    process.argv.slice(2),
    {
      upstream: { type: 'string' },
      listen: { type: 'string', default: '127.0.0.1:0' },
      toxic: { type: 'string', multiple: true, default: [] },
      seed: { type: 'string' },
      help: { type: 'boolean', default: false },
    },
    { help: HELP },
  );
  if (values.help) {
    process.stdout.write(`${HELP}\n`);
    return 0;
  }
  if (values.upstream === undefined) throw new UsageError('--upstream HOST:PORT is required');
  if (!HOST_PORT.test(values.upstream)) throw new UsageError(`--upstream takes HOST:PORT; got "${values.upstream}"`);
  const listen = HOST_PORT.exec(values.listen);
  if (!listen) throw new UsageError(`--listen takes HOST:PORT (port 0 lets the OS pick); got "${values.listen}"`);
  const port = parseInteger(listen[3] ?? '', '--listen port', 0, 65_535);
  const seed = values.seed === undefined ? undefined : parseInteger(values.seed, '--seed', 0, 2 ** 32 - 1);
  const toxics: Array<{ name: string; spec: ToxicSpec }> = [];
  for (const text of values.toxic) {
    const spec = asUsage(() => parseToxicSpec(text));
    const taken = toxics.filter((t) => t.spec.type === spec.type).length;
    toxics.push({ name: taken === 0 ? spec.type : `${spec.type}-${taken + 1}`, spec });
  }
  const proxy = await FaultProxy.start({
    upstream: values.upstream,
    host: listen[1] ?? listen[2] ?? '127.0.0.1',
    port,
    ...(seed === undefined ? {} : { seed }),
  }).catch((error: unknown) => {
    if (error instanceof InvalidProxyOptionsError) throw new UsageError(error.message);
    // Cannot listen there (EADDRINUSE, EADDRNOTAVAIL): an environment error, exit 3, as serve does.
    throw error instanceof ProxyStateError && error.cause instanceof Error ? error.cause : error;
  });
  try {
    for (const { name, spec } of toxics) asUsage(() => proxy.addToxic(name, spec));
  } catch (error) {
    await proxy.close();
    throw error;
  }
  process.stderr.write(
    `fault proxy ${proxy.address} -> ${proxy.upstream}, seed ${proxy.seed}, toxics: ${toxics.map((t) => t.name).join(', ') || 'none'}\n`,
  );
  process.stdout.write(`${proxy.address}\n`);
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
    // Started with an IPC channel: the parent's exit (even by SIGKILL) closes it.
    if (process.channel) process.once('disconnect', resolve);
  });
  await proxy.close();
  if (process.connected) process.disconnect();
  const s = proxy.stats();
  process.stdout.write(
    `closed: accepted ${s.acceptedConnections}, bytes up ${s.bytesUpstream}, down ${s.bytesDownstream}, swallowed ${s.bytesSwallowed}, reset ${s.connectionsReset}\n`,
  );
  return 0;
});

/** Runs `f`, turning a bad toxic into a usage error (exit 2). */
function asUsage<T>(f: () => T): T {
  try {
    return f();
  } catch (error) {
    throw error instanceof InvalidToxicError ? new UsageError(error.message) : error;
  }
}
