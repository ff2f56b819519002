import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { initialModel, type PoolModel } from '../models/pool-model.js';
import { checkEveryOpSettlesOnce } from '../src/harness/checkers.js';
import { ConnectionPool } from '../src/pool/connection-pool.js';
import type { Backend } from './backend.js';
import { ClosePoolCommand, commandArbitraries, settleWaves } from './commands.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { LiveBackend } from './live-backend.js';
import { describeError, ModelDisagreement } from './outcomes.js';
import { SimulatedBackend } from './simulated-backend.js';
import { TargetBackend } from './target-backend.js';
import type { BrokenVariant } from './variants/index.js';
import { type PoolFactory, World } from './world.js';

export type Layer = 'live' | 'simulated';

/** Options of one property run; every field optional with the default given. */
export interface PoolPropertyConstraints {
  /** Default `simulated`. */
  readonly layer?: Layer;
  /** Runs to try (default 100); with `timeLimitMs`, the most to try. */
  readonly runs?: number;
  /** Default: fresh, from fast-check. */
  readonly seed?: number;
  /** fast-check's replay path of a failing run (with `seed`). */
  readonly path?: string;
  /** The commands' replay path (fc.commands `replayPath`), to replay the exact shrunk commands. */
  readonly commandsReplayPath?: string;
  /** Stop trying new runs after this long (the budget is never overrun by more than one run). */
  readonly timeLimitMs?: number;
  /** Most commands in one run (default 12). */
  readonly maxCommands?: number;
  /** Servers per run (default 2). */
  readonly addresses?: number;
  /** Run against a known-broken pool instead of the real one. */
  readonly variant?: BrokenVariant;
  /** Run the live layer against these servers (host:port) instead of embedded ones. */
  readonly targets?: readonly string[];
  /** Skip shrinking (fuzzing a time budget: report the first failure as found). */
  readonly noShrink?: boolean;
}

/** What a property run found, as plain data (it goes into reports and failure files). */
export interface PropertyResult {
  readonly property: string;
  readonly layer: Layer;
  readonly variant: string | undefined;
  readonly passed: boolean;
  readonly interrupted: boolean;
  readonly runs: number;
  readonly seed: number;
  readonly wallMs: number;
  /** fast-check's path to the shrunk counterexample (with `seed`). */
  readonly path: string | undefined;
  readonly commandsReplayPath: string | undefined;
  /** The shrunk counterexample as readable steps. */
  readonly counterexample: string[] | undefined;
  readonly error: string | undefined;
  readonly shrinks: number;
  readonly fastCheckVersion: string;
  readonly constraints: { maxCommands: number; addresses: number; runs: number };
}

export const POOL_PROPERTY = 'pool-matches-model';

/** Builds and checks the pool property: generated command sequences against the model, step by step. */
export async function checkPoolProperty(c: PoolPropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  const addresses = c.addresses ?? 2;
  const maxCommands = c.maxCommands ?? 12;
  const runs = c.runs ?? 100;
  const makePool: PoolFactory = c.variant?.make ?? ((o) => new ConnectionPool(o));
  const runPrefix = randomBytes(3).toString('hex');
  let runNo = 0;
  const target = c.targets?.length ? await TargetBackend.connect(c.targets) : undefined;
  const serverCount = target ? target.addresses.length : addresses;

  const property = fc.asyncProperty(
    fc.scheduler(),
    fc.commands(commandArbitraries({ addresses: serverCount, controllable: !target }), {
      maxCommands,
      replayPath: c.commandsReplayPath,
    }),
    async (s, cmds) => {
      const backend: Backend =
        target ?? (layer === 'live' ? await LiveBackend.start(serverCount) : new SimulatedBackend(serverCount));
      const world = new World(backend, s, makePool, `${runPrefix}-${++runNo}`);
      let model: PoolModel | undefined;
      try {
        await fc.asyncModelRun(() => {
          model = initialModel(serverCount);
          return { model, real: world };
        }, cmds);
        if (model) await finalChecks(model, world);
      } finally {
        await world.dispose();
      }
    },
  );

  const started = performance.now();
  const plugins = [fc.timeout(layer === 'live' ? 60_000 : 15_000)];
  if (c.timeLimitMs !== undefined) plugins.push(fc.interruptAfterTimeLimit(c.timeLimitMs));
  const details = await fc
    .check(property, { numRuns: runs, seed: c.seed, path: c.path, endOnFailure: c.noShrink ?? false, plugins })
    .finally(() => target?.close());
  const wallMs = performance.now() - started;
  const failure = details.failed ? details.counterexample : undefined;
  const commandsText = failure ? String((failure as unknown[])[1]) : undefined;
  return {
    property: POOL_PROPERTY,
    layer: target ? 'live' : layer,
    variant: c.variant?.name,
    passed: !details.failed,
    interrupted: details.interrupted,
    runs: details.numRuns,
    seed: details.seed,
    wallMs,
    path: details.counterexamplePath ?? undefined,
    commandsReplayPath: commandsText ? /replayPath="([^"]*)"/.exec(commandsText)?.[1] : undefined,
    counterexample: commandsText ? readableSteps(commandsText) : undefined,
    error: details.failed ? describeError(details.errorInstance) : undefined,
    shrinks: details.numShrinks,
    fastCheckVersion: fc.__version,
    constraints: { maxCommands, addresses: serverCount, runs },
  };
}

/** At the end of every run: waves settled and checked, pool closed, nothing left open on any server. */
async function finalChecks(m: PoolModel, w: World): Promise<void> {
  await settleWaves(m, w);
  if (!w.pool.isClosed) await new ClosePoolCommand().run(m, w);
  for (let i = 0; i < m.addresses.length; i++) {
    const open = await w.backend.settleOpenConnections(i, 0, CLOSE_SETTLE_MS);
    if (open !== 0) throw new ModelDisagreement(`after the pool closed, server ${i} still holds ${open} open connections (leak)`);
  }
  const verdict = checkEveryOpSettlesOnce(w.history.events);
  if (!verdict.valid) throw new ModelDisagreement(`history: ${verdict.problems.join('; ')}`);
}

/** `add(0),wave(...) /*replayPath="..."*\/` -> ['add(0)', 'wave(...)']. */
export function readableSteps(commandsText: string): string[] {
  const body = commandsText.replace(/\s*\/\*replayPath=.*\*\/\s*$/, '');
  const steps: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of body) {
    if (ch === ',' && depth === 0) {
      if (current.trim()) steps.push(current.trim());
      current = '';
      continue;
    }
    if (ch === '(' || ch === '[') depth++;
    if (ch === ')' || ch === ']') depth--;
    current += ch;
  }
  if (current.trim()) steps.push(current.trim());
  return steps;
}
