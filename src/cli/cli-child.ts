import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TS_NODE_ARGS } from '../loader/node-args.js';
import type { StopSignal } from './stop-signal.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));

export interface ChildOutcome {
  /** The exit code (null when a signal ended it). */
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs another of the project's CLIs (`src/cli/NAME.ts`) in a process of its own, as `npm run NAME`
 * would, and collects its output. One process per release: a process holds one client release.
 * A stop (Ctrl-C) is passed on to it as SIGTERM; it then writes what it has and ends.
 */
export function runCliChild(name: string, args: readonly string[], stop: StopSignal): Promise<ChildOutcome> {
  const child = spawn(process.execPath, [...TS_NODE_ARGS, fileURLToPath(new URL(`./${name}.ts`, import.meta.url)), ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
    stdout += chunk;
  });
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
    stderr += chunk;
  });
  const forget = stop.onCleanup(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  void stop.promise.then(() => {
    if (child.exitCode === null) child.kill('SIGTERM');
  });
  return new Promise((resolve, reject) => {
    child.once('error', (error) => {
      forget();
      reject(error);
    });
    child.once('close', (code) => {
      forget();
      resolve({ code, stdout, stderr });
    });
  });
}
