import fc from 'fast-check';
import { History } from '../src/harness/history.js';
import { LoadTestMetrics } from '../src/metrics/load-test-metrics.js';
import type { ChannelOptionValues } from '../src/pool/pool-key.js';
import { adapterFor } from './adapter/registry.js';
import { notForThisPool, unmetNeeds } from './adapter/requirements.js';
import { type Backend, CALL_DEADLINE_MS } from './backend.js';
import { firstErrorWins, type PropertyConstraints, type PropertyResult, runCheck } from './check-runner.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { LiveBackend } from './live-backend.js';
import { ModelDisagreement, setUp } from './outcomes.js';
import { ProgramTextError } from './parallel/program-text.js';
import { runLengths } from './run-lengths.js';
import { SimulatedBackend } from './simulated-backend.js';

export const KEYS_PROPERTY = 'keys-isolate';

/** Channel option sets the gets choose from: keys that differ only in options. */
const OPTION_SETS: readonly ChannelOptionValues[] = [
  {},
  { 'grpc.primary_user_agent': 'keys-a' },
  { 'grpc.primary_user_agent': 'keys-b' },
];

/** One get (with a call on the connection) of an address with an option set. */
class GetStep {
  constructor(
    readonly address: number,
    readonly options: number,
  ) {}
  toString(): string {
    return `get(${this.address}, options=${this.options})`;
  }
}

/** Reads a recorded step (`get(0, options=1)`) back; throws `ProgramTextError` when it cannot. */
export function parseGetStep(text: string, addresses: number): GetStep {
  const m = /^get\((\d+), options=(\d+)\)$/.exec(text.trim());
  if (!m) throw new ProgramTextError(text, 'not a step of keys-isolate (get(ADDRESS, options=SET))');
  const [address, options] = [Number(m[1]), Number(m[2])];
  if (address >= addresses) throw new ProgramTextError(text, `address ${address} is not one of 0..${addresses - 1}`);
  if (options >= OPTION_SETS.length)
    throw new ProgramTextError(text, `option set ${options} is not one of 0..${OPTION_SETS.length - 1}`);
  return new GetStep(address, options);
}

/**
 * Keys and isolation: concurrent gets of a few addresses with a few option sets, in an order the
 * scheduler picks. Afterwards the pool holds one connection per distinct (address, options), and
 * each server, by its own count, holds exactly one open connection per option set used on it.
 */
export async function checkKeysProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  const addresses = c.addresses ?? 2;
  const runs = c.runs ?? 100;
  const maxSteps = c.maxCommands ?? 12;
  const step = fc
    .record({ address: fc.integer({ min: 0, max: addresses - 1 }), options: fc.integer({ min: 0, max: OPTION_SETS.length - 1 }) })
    .map((r) => new GetStep(r.address, r.options));
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, { features: ['keyOptions', 'seam'] });
  if (skip) return notForThisPool(KEYS_PROPERTY, c, skip);
  let runNo = 0;
  let lastCase = '';
  const sizes: number[] = [];
  const gets = c.steps
    ? fc.constant(c.steps.map((text) => parseGetStep(text, addresses)))
    : fc.array(step, { minLength: 1, maxLength: maxSteps });
  const property = fc.asyncProperty(fc.scheduler(), gets, async (s, steps) => {
    sizes.push(steps.length);
    const backend: Backend = await setUp<Backend>(`start ${addresses} ${layer} test server(s)`, () =>
      layer === 'live' ? LiveBackend.start(addresses) : new SimulatedBackend(addresses),
    );
    const history = new History();
    const scheduled = backend.network.connector(s, history, undefined, adapter.liveConnector);
    const pool = adapter.create({
      connector: scheduled,
      name: 'keys',
      deadlineMs: CALL_DEADLINE_MS,
      metrics: new LoadTestMetrics(),
    });
    runNo += 1;
    await firstErrorWins(
      async () => {
        await s.waitFor(
          Promise.all(
            steps.map((g, k) =>
              pool.call(
                backend.addresses[g.address] as string,
                { requestId: `keys-${runNo}-${k}` },
                { channelOptions: OPTION_SETS[g.options] as ChannelOptionValues },
              ),
            ),
          ),
        );
        const distinct = new Set(steps.map((g) => `${g.address}/${g.options}`));
        const stats = pool.stats?.();
        if (stats && stats.liveKeys !== distinct.size)
          throw new ModelDisagreement(`pool holds ${stats.liveKeys} keys for ${distinct.size} distinct (address, options)`);
        if (stats && (stats.created !== distinct.size || stats.reused !== steps.length - distinct.size)) {
          throw new ModelDisagreement(
            `stats created ${stats.created}, reused ${stats.reused}; expected ${distinct.size}, ${steps.length - distinct.size}`,
          );
        }
        for (let i = 0; i < addresses; i++) {
          const expected = new Set(steps.filter((g) => g.address === i).map((g) => g.options)).size;
          const open = await backend.observer.settleOpenConnections(i, expected, CLOSE_SETTLE_MS);
          if (open !== expected) {
            throw new ModelDisagreement(
              `server ${i} holds ${open} open connections; ${expected} option set(s) were used on it (one connection each)`,
            );
          }
        }
        await s.waitFor(pool.close());
        for (let i = 0; i < addresses; i++) {
          const open = await backend.observer.settleOpenConnections(i, 0, CLOSE_SETTLE_MS);
          if (open !== 0) throw new ModelDisagreement(`after close, server ${i} still holds ${open} open connections`);
        }
      },
      async () => {
        lastCase = String(steps);
        await s.waitFor(pool.close());
        await backend.dispose();
      },
    );
  });
  const result = await runCheck(property, {
    name: KEYS_PROPERTY,
    layer,
    constraints: c,
    runs,
    shape: { maxCommands: maxSteps, addresses, runs },
    lastCase: () => lastCase,
  });
  // A get (with its call) is this property's command.
  return { ...result, runLengths: runLengths(sizes) };
}
