import fc from 'fast-check';
import { History } from '../src/harness/history.js';
import { LoadTestMetrics } from '../src/metrics/load-test-metrics.js';
import type { ChannelOptionValues } from '../src/pool/pool-key.js';
import { CALL_DEADLINE_MS } from './backend.js';
import { firstErrorWins, type PropertyConstraints, type PropertyResult } from './check-runner.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { ModelDisagreement } from './outcomes.js';
import { ProgramTextError } from './parallel/program-text.js';
import { checkProperty, type PropertySpec } from './property-skeleton.js';

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
const KEYS_SPEC: PropertySpec<GetStep[]> = {
  name: KEYS_PROPERTY,
  needs: { features: ['keyOptions', 'seam'] },
  defaults: { runs: 100, maxCommands: 12, addresses: 2 },
  supportsTarget: false,
  cases: ({ constraints: c, addresses, maxCommands }) => {
    const step = fc
      .record({
        address: fc.integer({ min: 0, max: addresses - 1 }),
        options: fc.integer({ min: 0, max: OPTION_SETS.length - 1 }),
      })
      .map((r) => new GetStep(r.address, r.options));
    return c.steps
      ? fc.constant(c.steps.map((text) => parseGetStep(text, addresses)))
      : fc.array(step, { minLength: 1, maxLength: maxCommands });
  },
  // A get (with its call) is this property's command.
  size: (steps) => steps.length,
  describe: (steps) => steps.map(String),
  async run({ backend, scheduler: s, adapter, runId }, steps) {
    const addresses = backend.addresses.length;
    const scheduled = backend.network.connector(s, new History(), undefined, adapter.liveConnector);
    const pool = adapter.create({
      connector: scheduled,
      name: 'keys',
      deadlineMs: CALL_DEADLINE_MS,
      metrics: new LoadTestMetrics(),
    });
    await firstErrorWins(
      async () => {
        await s.waitFor(
          Promise.all(
            steps.map((g, k) =>
              pool.call(
                backend.addresses[g.address] as string,
                { requestId: `keys-${runId}-${k}` },
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
        await s.waitFor(pool.close());
        await backend.dispose();
      },
    );
  },
};

export function checkKeysProperty(c: PropertyConstraints = {}): Promise<PropertyResult> {
  return checkProperty(KEYS_SPEC, c);
}
