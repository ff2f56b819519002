import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { initialModel, type PoolModel } from '../models/pool-model.js';
import { checkEveryOpSettlesOnce, checkLatencyBound } from '../src/harness/checkers.js';
import { adapterFor } from './adapter/registry.js';
import { notForThisPool, unmetNeeds } from './adapter/requirements.js';
import { type Backend, CALL_DEADLINE_MS, SETTLE_TOLERANCE_MS } from './backend.js';
import { firstErrorWins, type PoolPropertyConstraints, type PropertyResult, runCheck } from './check-runner.js';
import { parseCommandSteps } from './command-text.js';
import { ClosePoolCommand, checkMetricsAgreeWithClients, commandArbitraries, settleWaves } from './commands.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { LiveBackend } from './live-backend.js';
import { minimiseFailure, shouldMinimise } from './minimise.js';
import { ModelDisagreement, setUp } from './outcomes.js';
import { runLengths } from './run-lengths.js';
import { STEPS_SHAPE } from './sequential-minimise.js';
import { SimulatedBackend } from './simulated-backend.js';
import { TargetBackend } from './target-backend.js';
import { World } from './world.js';

export const POOL_PROPERTY = 'pool-matches-model';

/** Builds and checks the pool property: generated command sequences against the model, step by step. */
export async function checkPoolProperty(c: PoolPropertyConstraints = {}): Promise<PropertyResult> {
  const layer = c.layer ?? 'simulated';
  const addresses = c.addresses ?? 2;
  const maxCommands = c.maxCommands ?? 12;
  const runs = c.runs ?? 100;
  const adapter = await adapterFor(c);
  const skip = unmetNeeds(adapter, { preciseModel: true, features: ['add', 'remove', 'health', 'stats', 'seam'] });
  if (skip) return notForThisPool(POOL_PROPERTY, c, skip);
  const runPrefix = randomBytes(3).toString('hex');
  let runNo = 0;
  let lastCase = '';
  const sizes: number[] = [];
  const target = c.targets?.length ? await TargetBackend.connect(c.targets) : undefined;
  const serverCount = target ? target.addresses.length : addresses;

  const property = fc.asyncProperty(
    fc.scheduler(),
    // size 'max': without it fast-check never makes more than 10 commands, whatever maxCommands says.
    // Recorded steps (a failure file's) are run as they are, whatever the generators have become.
    c.steps
      ? fc.constant(parseCommandSteps(c.steps, serverCount))
      : fc.commands(commandArbitraries({ addresses: serverCount, controllable: !target }), {
          maxCommands,
          size: 'max',
          replayPath: c.commandsReplayPath,
        }),
    async (s, cmds) => {
      sizes.push([...cmds].length);
      const backend: Backend =
        target ??
        (await setUp<Backend>(`start ${serverCount} ${layer} test server(s)`, () =>
          layer === 'live' ? LiveBackend.start(serverCount) : new SimulatedBackend(serverCount),
        ));
      const world = new World(backend, s, adapter, `${runPrefix}-${++runNo}`);
      let model: PoolModel | undefined;
      await firstErrorWins(
        async () => {
          await fc.asyncModelRun(() => {
            model = initialModel(serverCount);
            return { model, real: world };
          }, cmds);
          if (model) await finalChecks(model, world);
        },
        async () => {
          lastCase = String(cmds);
          await world.dispose();
        },
      );
    },
  );

  const result = await runCheck(property, {
    name: POOL_PROPERTY,
    layer: target ? 'live' : layer,
    constraints: c,
    runs,
    shape: { maxCommands, addresses: serverCount, runs },
    onDone: () => target?.close(),
    lastCase: () => lastCase,
  });
  const final = { ...result, runLengths: runLengths(sizes) };
  return shouldMinimise(c, final) ? minimiseFailure(c, final, final.counterexample ?? [], STEPS_SHAPE, checkPoolProperty) : final;
}

/** At the end of every run: waves settled and checked, pool closed, nothing left open on any server. */
async function finalChecks(m: PoolModel, w: World): Promise<void> {
  await settleWaves(m, w);
  checkMetricsAgreeWithClients(w);
  if (!w.pool.isClosed) await new ClosePoolCommand().run(m, w);
  for (let i = 0; i < m.addresses.length; i++) {
    const open = await w.backend.observer.settleOpenConnections(i, 0, CLOSE_SETTLE_MS);
    if (open !== 0) throw new ModelDisagreement(`after the pool closed, server ${i} still holds ${open} open connections (leak)`);
  }
  const verdicts = [checkEveryOpSettlesOnce(w.history.events)];
  // Live calls and health checks settle within their deadline plus a tolerance, timed on the wire
  // (the history records them before the scheduler holds their results back).
  if (w.backend.layer === 'live') {
    const bound = CALL_DEADLINE_MS + SETTLE_TOLERANCE_MS;
    verdicts.push(checkLatencyBound(w.history.events, 'call', bound), checkLatencyBound(w.history.events, 'health', bound));
  }
  const problems = verdicts.flatMap((v) => v.problems.map((p) => `${v.checker}: ${p}`));
  if (problems.length > 0) throw new ModelDisagreement(`history: ${problems.join('; ')}`);
}

export type { Layer, PoolPropertyConstraints, PropertyResult } from './check-runner.js';
