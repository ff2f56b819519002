import type fc from 'fast-check';
import type { PoolModel } from '../models/pool-model.js';
import {
  AddCommand,
  AwaitWavesCommand,
  CallCommand,
  ClosePoolCommand,
  HealthCommand,
  RecoverCommand,
  RemoveCommand,
  ServerCommand,
  SetServingCommand,
  StatsCommand,
  WaveCommand,
} from './commands.js';
import { ProgramTextError } from './parallel/program-text.js';
import type { World } from './world.js';

type Cmd = fc.AsyncCommand<PoolModel, World>;

const index = (text: string, step: string, addresses: number): number => {
  const i = Number(text);
  if (!Number.isInteger(i) || i < 0 || i >= addresses) {
    throw new ProgramTextError(step, `address ${text} is not one of 0..${addresses - 1}`);
  }
  return i;
};

const failCode = (text: string | undefined, step: string): number => {
  if (text === undefined) return 0;
  const code = Number(text);
  if (!Number.isInteger(code) || code < 1 || code > 16)
    throw new ProgramTextError(step, `fail=${text} is not a gRPC status 1..16`);
  return code;
};

type Parse = (m: RegExpExecArray, step: string, addresses: number) => Cmd;

const SIMPLE = { add: AddCommand, remove: RemoveCommand, health: HealthCommand, stats: StatsCommand, recover: RecoverCommand };

/** Each command's text as its `toString` writes it, and how to build the command back from it. */
const FORMS: ReadonlyArray<readonly [RegExp, Parse]> = [
  [
    /^(add|remove|health|stats|recover)\((\d+)\)$/,
    (m, s, n) => new SIMPLE[m[1] as keyof typeof SIMPLE](index(m[2] as string, s, n)),
  ],
  [/^call\((\d+)(?:, fail=(\d+))?\)$/, (m, s, n) => new CallCommand(index(m[1] as string, s, n), failCode(m[2], s))],
  [/^call\((\d+), late\)$/, (m, s, n) => new CallCommand(index(m[1] as string, s, n), 0, true)],
  [
    /^setServing\((\d+), (SERVING|NOT_SERVING)\)$/,
    (m, s, n) => new SetServingCommand(index(m[1] as string, s, n), m[2] as 'SERVING' | 'NOT_SERVING'),
  ],
  [
    /^(stop|kill|restart)Server\((\d+)\)$/,
    (m, s, n) => new ServerCommand(index(m[2] as string, s, n), m[1] as 'stop' | 'kill' | 'restart'),
  ],
  [/^closePool\(\)$/, () => new ClosePoolCommand()],
  [/^awaitWaves\(\)$/, () => new AwaitWavesCommand()],
  [
    /^wave\(\[([\d,]+)\], (\d+)x(\d+), delay=(\d+)ms(?:, fail=(\d+))?\)$/,
    (m, s, n) => {
      const targets = (m[1] as string).split(',').map((t) => index(t, s, n));
      const [clients, perClient, delayMs] = [m[2], m[3], m[4]].map(Number) as [number, number, number];
      if (clients < 1 || perClient < 1) throw new ProgramTextError(s, 'a wave needs at least one client and one request each');
      return new WaveCommand(targets, clients, perClient, delayMs, failCode(m[5], s));
    },
  ],
];

/**
 * One step of pool-matches-model as its command's `toString` wrote it, read back into the command.
 * Throws `ProgramTextError` naming the step when it is not one the commands can express (the
 * failure file is then stale: the case cannot be run again as recorded).
 */
export function parseCommandStep(step: string, addresses: number): Cmd {
  const s = step.trim();
  for (const [form, parse] of FORMS) {
    const m = form.exec(s);
    if (m) return parse(m, s, addresses);
  }
  throw new ProgramTextError(s, 'not a command of pool-matches-model (add, remove, call, wave, awaitWaves, health, ...)');
}

/** The steps of a failure file (one command a line), read back into commands; see `parseCommandStep`. */
export function parseCommandSteps(steps: readonly string[], addresses: number): Cmd[] {
  return steps.map((step) => parseCommandStep(step, addresses));
}
