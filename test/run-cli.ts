import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';

export const ROOT = fileURLToPath(new URL('..', import.meta.url));

export interface CliRun {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Spawns `src/cli/NAME.ts` as a user would (through the TypeScript loader) and collects its output as it comes. */
function spawnCli(name: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, `src/cli/${name}.ts`, ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_COLOR: '1', ...env },
  });
  const out = { stdout: '', stderr: '' };
  child.stdout.on('data', (d) => {
    out.stdout += d;
  });
  child.stderr.on('data', (d) => {
    out.stderr += d;
  });
  return { child, out };
}

/**
 * Runs `src/cli/NAME.ts` with `args` as a user would (through the TypeScript loader), and collects its output; `env`
 * adds to the environment it inherits.
 */
export function runCli(name: string, args: string[], timeoutMs = 120_000, env: NodeJS.ProcessEnv = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const { child, out } = spawnCli(name, args, env);
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.once('error', reject);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code, ...out });
    });
  });
}

/** A CLI started by `startCli`, running while the test acts on it (a signal, closing its stdout). */
export interface StartedCli {
  readonly child: ChildProcess;
  /** The exit code (null when ended by a signal). */
  readonly exited: Promise<number | null>;
  /** Resolves once stdout matches `re`; throws with both outputs after `timeoutMs`. */
  waitFor(re: RegExp, timeoutMs?: number): Promise<void>;
  stdout(): string;
  stderr(): string;
}

/** Starts `src/cli/NAME.ts` as `runCli` does, without waiting for it to end; `env` adds to its environment. */
export function startCli(name: string, args: string[], env: NodeJS.ProcessEnv = {}): StartedCli {
  const { child, out } = spawnCli(name, args, env);
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const waitFor = async (re: RegExp, timeoutMs = 30_000) => {
    const until = Date.now() + timeoutMs;
    while (!re.test(out.stdout)) {
      if (Date.now() > until) throw new Error(`no ${re} in output within ${timeoutMs} ms:\n${out.stdout}\n${out.stderr}`);
      // Polls the output it collects (no event to wait on for "this text appeared").
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  return { child, exited, waitFor, stdout: () => out.stdout, stderr: () => out.stderr };
}
