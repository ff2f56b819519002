import fc from 'fast-check';
import { initialModel, type PoolModel } from '../models/pool-model.js';
import { checkEveryOpSettlesOnce, checkLatencyBound } from '../src/harness/checkers.js';
import { CALL_DEADLINE_MS, SETTLE_TOLERANCE_MS } from './backend.js';
import { firstErrorWins, type PoolPropertyConstraints, type PropertyResult, readableSteps } from './check-runner.js';
import { parseCommandSteps } from './command-text.js';
import { ClosePoolCommand, checkMetricsAgreeWithClients, commandArbitraries, settleWaves } from './commands.js';
import { CLOSE_SETTLE_MS } from './invariants.js';
import { ModelDisagreement } from './outcomes.js';
import { checkProperty, minimiseBy, type PropertySpec } from './property-skeleton.js';
import { STEPS_SHAPE } from './sequential-minimise.js';
import { World } from './world.js';

export const POOL_PROPERTY = 'pool-matches-model';

type Commands = Iterable<fc.AsyncCommand<PoolModel, World>>;

/** Generated command sequences against the model, step by step (see `checkPoolProperty`). */
const POOL_SPEC: PropertySpec<Commands> = {
  name: POOL_PROPERTY,
  needs: { preciseModel: true, features: ['add', 'remove', 'health', 'stats', 'seam'] },
  defaults: { runs: 100, maxCommands: 12, addresses: 2 },
  supportsTarget: true,
  // size 'max': without it fast-check never makes more than 10 commands, whatever maxCommands says.
  // Recorded steps (a failure file's) are run as they are, whatever the generators have become.
  cases: ({ constraints: c, addresses, maxCommands, ownServers }) =>
    c.steps
      ? fc.constant(parseCommandSteps(c.steps, addresses))
      : fc.commands(commandArbitraries({ addresses, controllable: ownServers }), {
          maxCommands,
          size: 'max',
          replayPath: c.commandsReplayPath,
        }),
  size: (cmds) => [...cmds].length,
  describe: (cmds) => readableSteps(String(cmds)),
  async run(env, cmds) {
    const addresses = env.backend.addresses.length;
    const world = new World(env.backend, env.scheduler, env.adapter, env.runId);
    let model: PoolModel | undefined;
    await firstErrorWins(
      async () => {
        await fc.asyncModelRun(() => {
          model = initialModel(addresses);
          return { model, real: world };
        }, cmds);
        if (model) await finalChecks(model, world);
      },
      () => world.dispose(),
    );
  },
  minimise: minimiseBy((steps) => steps, STEPS_SHAPE),
};

/** Builds and checks the pool property: generated command sequences against the model, step by step. */
export function checkPoolProperty(c: PoolPropertyConstraints = {}): Promise<PropertyResult> {
  return checkProperty(POOL_SPEC, c);
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
