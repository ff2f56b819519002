import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  hashPoolState,
  initialPoolState,
  type PoolInput,
  type PoolOutput,
  type PoolSpecState,
  poolStep,
  statsOf,
} from './pool-spec.js';

type Step = readonly [PoolInput, PoolOutput | undefined];

/** Applies steps one by one (deterministic choices: the first successor); undefined at the first illegal one. */
function run(steps: readonly Step[], backoff = false): PoolSpecState | undefined {
  let s: PoolSpecState | undefined = initialPoolState(2);
  for (const [input, output] of steps) {
    s = s && poolStep(s, input, output, { addresses: 2, backoff })[0];
  }
  return s;
}

const make: Step[] = [
  [{ f: 'connect', i: 0 }, { conn: 1 }],
  [
    { f: 'acquire', i: 0 },
    { conn: 1, created: true },
  ],
];

describe('pool spec (the model the linearizability checker uses)', () => {
  it('counts a made connection as created, and a second get of it as reused', () => {
    const s = run([...make, [{ f: 'acquire', i: 0 }, { conn: 1 }]]);
    expect(s && statsOf(s)).toMatchObject({ created: 1, reused: 1, inFlight: 2, liveKeys: 1 });
  });

  it('refuses a second connection for a key that has one (two creators)', () => {
    expect(run([...make, [{ f: 'connect', i: 0 }, { conn: 2 }]])).toBeUndefined();
  });

  it('refuses a get that is handed another connection than the key holds', () => {
    expect(run([...make, [{ f: 'acquire', i: 0 }, { conn: 7 }]])).toBeUndefined();
  });

  it('keeps a removed connection draining until its lease is released, and refuses closing it earlier', () => {
    const removed: Step[] = [...make, [{ f: 'remove', i: 0 }, true]];
    expect(run(removed) && statsOf(run(removed) as PoolSpecState)).toMatchObject({ liveKeys: 0, draining: 1, inFlight: 1 });
    expect(run([...removed, [{ f: 'connClosed', i: 0, conn: 1 }, 'ok']])).toBeUndefined();
    const drained = run([
      ...removed,
      [{ f: 'rpc', i: 0, conn: 1, kind: 'call', failCode: 0 }, 'ok'],
      [{ f: 'release', i: 0, conn: 1 }, 'ok'],
      [{ f: 'connClosed', i: 0, conn: 1 }, 'ok'],
    ]);
    expect(drained && statsOf(drained)).toMatchObject({ created: 1, closed: 1, draining: 0, inFlight: 0 });
  });

  it('reads stats exactly: a stats read that misses a held lease is illegal', () => {
    const stats = (inFlight: number): Step => [
      { f: 'stats' },
      { created: 1, connectFailures: 0, closed: 0, reused: 0, inFlight, liveKeys: 1, draining: 0 },
    ];
    expect(run([...make, stats(1)])).toBeDefined();
    expect(run([...make, stats(0)])).toBeUndefined();
  });

  it('allows UNAVAILABLE only while the server is down, or (live layer only) while a channel backs off after a restart', () => {
    const rpc: Step = [{ f: 'rpc', i: 0, conn: 1, kind: 'call', failCode: 0 }, 'status:14'];
    expect(run([...make, rpc])).toBeUndefined();
    expect(run([...make, [{ f: 'kill', i: 0 }, 'ok'], rpc])).toBeDefined();
    const restarted: Step[] = [...make, [{ f: 'kill', i: 0 }, 'ok'], [{ f: 'restart', i: 0 }, 'ok'], rpc];
    expect(run(restarted, false)).toBeUndefined();
    expect(run(restarted, true)).toBeDefined();
  });

  it('answers health as last set, and refuses everything but stats once closed', () => {
    const health = (status: 'SERVING' | 'NOT_SERVING'): Step => [{ f: 'rpc', i: 0, conn: 1, kind: 'health' }, status];
    expect(run([...make, [{ f: 'serving', i: 0, status: 'NOT_SERVING' }, 'ok'], health('NOT_SERVING')])).toBeDefined();
    expect(run([...make, [{ f: 'serving', i: 0, status: 'NOT_SERVING' }, 'ok'], health('SERVING')])).toBeUndefined();
    const closed: Step[] = [[{ f: 'close' }, 'ok']];
    expect(run([...closed, [{ f: 'acquire', i: 0 }, 'pool-closed']])).toBeDefined();
    expect(run([...closed, [{ f: 'add', i: 0 }, 'ok']])).toBeUndefined();
    // A connect that finishes after close makes a connection that must be closed, unseen.
    const orphan = run([...closed, [{ f: 'connect', i: 1 }, { conn: 5 }], [{ f: 'connClosed', i: 1, conn: 5 }, 'ok']]);
    expect(orphan && statsOf(orphan)).toMatchObject({ created: 1, closed: 1, liveKeys: 0, draining: 0 });
  });

  it('checks the servers accepted exactly the connections made, where no fault intervened', () => {
    const ledger = (accepted: number[], faulted = [false, false], exact = true): Step => [
      { f: 'ledger', accepted, faulted, exact },
      'ok',
    ];
    expect(run([...make, ledger([1, 0])])).toBeDefined();
    expect(run([...make, ledger([2, 0])])).toBeUndefined();
    expect(run([...make, ledger([2, 0], [true, false])])).toBeDefined();
    // Live: a connection closed before it reached the server is not counted there; one more never is.
    expect(run([...make, ledger([0, 0], [false, false], true)])).toBeUndefined();
    expect(run([...make, ledger([0, 0], [false, false], false)])).toBeDefined();
    expect(run([...make, ledger([2, 0], [false, false], false)])).toBeUndefined();
  });
});

describe('connect failures', () => {
  const down: Step = [{ f: 'stop', i: 0 }, 'ok'];
  it('allows a refused connect, and a get that fails to connect, only while the server cannot be reached', () => {
    expect(run([down, [{ f: 'connect', i: 0 }, 'failed'], [{ f: 'acquire', i: 0 }, 'connect-failed']])).toBeDefined();
    // A server that is up accepts: a refusal there (or a cached failure handed to a get) is illegal.
    expect(run([[{ f: 'connect', i: 0 }, 'failed']])).toBeUndefined();
    expect(run([[{ f: 'acquire', i: 0 }, 'connect-failed']])).toBeUndefined();
    expect(run([down, [{ f: 'restart', i: 0 }, 'ok'], [{ f: 'add', i: 0 }, 'connect-failed']])).toBeUndefined();
    // A network fault that stops requests refuses connects too; latency does not.
    expect(
      run([
        [{ f: 'fault', i: 0, kind: 'reset' }, 'ok'],
        [{ f: 'add', i: 0 }, 'connect-failed'],
      ]),
    ).toBeDefined();
    expect(
      run([
        [{ f: 'fault', i: 0, kind: 'latency' }, 'ok'],
        [{ f: 'add', i: 0 }, 'connect-failed'],
      ]),
    ).toBeUndefined();
  });

  it('never fails to connect a key that has its connection: the get reuses it', () => {
    expect(run([...make, down, [{ f: 'acquire', i: 0 }, 'connect-failed']])).toBeUndefined();
  });

  it('counts refused connects in the stats, exactly', () => {
    const stats = (connectFailures: number): Step => [
      { f: 'stats' },
      { created: 0, connectFailures, closed: 0, reused: 0, inFlight: 0, liveKeys: 0, draining: 0 },
    ];
    expect(run([down, [{ f: 'connect', i: 0 }, 'failed'], stats(1)])).toBeDefined();
    expect(run([down, [{ f: 'connect', i: 0 }, 'failed'], stats(0)])).toBeUndefined();
  });
});

describe('late calls', () => {
  const late = (output: PoolOutput): Step[] => [
    [{ f: 'acquire', i: 0 }, { conn: 1 }],
    [{ f: 'rpc', i: 0, conn: 1, kind: 'call', failCode: 0, late: true }, output],
  ];
  it('end DEADLINE_EXCEEDED on a reachable server, never with its late answer', () => {
    expect(run([...make, ...late('status:4')])).toBeDefined();
    expect(run([...make, ...late('ok')])).toBeUndefined();
  });
});

describe('hashPoolState', () => {
  // A small domain, so that generated pairs are often equal or differ in one field only.
  const n = fc.integer({ min: 0, max: 2 });
  const two = <T>(a: fc.Arbitrary<T>) => fc.tuple(a, a);
  const state: fc.Arbitrary<PoolSpecState> = fc.record({
    closed: fc.boolean(),
    key: two(fc.option(n, { nil: null })),
    conns: fc.array(fc.record({ id: n, i: n, leases: n, draining: fc.boolean(), mayFail: fc.boolean() }), { maxLength: 2 }),
    seen: fc.array(n, { maxLength: 2 }),
    created: n,
    connectFailures: n,
    closedCount: n,
    reused: n,
    createdAt: two(n),
    phase: two(fc.constantFrom('up' as const, 'down' as const)),
    serving: two(fc.constantFrom('SERVING' as const, 'NOT_SERVING' as const)),
    fault: two(fc.constantFrom(null, 'reset' as const, 'blackhole' as const, 'latency' as const)),
  });

  const fields = Object.keys(fc.sample(state, 1)[0] ?? {}) as (keyof PoolSpecState)[];
  const connFields = ['id', 'i', 'leases', 'draining', 'mayFail'] as const;

  it('is equal exactly when the states are (the checker memoises on it)', () => {
    fc.assert(
      // b is a with one field (or one field of one connection, or nothing) taken from c: pairs that
      // are equal, or differ in exactly one place.
      fc.property(
        state,
        state,
        fc.option(fc.constantFrom(...fields), { nil: undefined }),
        fc.constantFrom(...connFields),
        (a, c, field, connField) => {
          const b: PoolSpecState =
            field === 'conns' && a.conns[0] && c.conns[0]
              ? { ...a, conns: [{ ...a.conns[0], [connField]: c.conns[0][connField] }, ...a.conns.slice(1)] }
              : field === undefined
                ? { ...a }
                : { ...a, [field]: c[field] };
          expect(hashPoolState(a) === hashPoolState(b)).toBe(JSON.stringify(a) === JSON.stringify(b));
        },
      ),
      { numRuns: 5_000 },
    );
  });
});
