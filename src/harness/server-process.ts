import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { TS_NODE_ARGS } from '../loader/node-args.js';

const SERVE = fileURLToPath(new URL('../cli/serve.ts', import.meta.url));

/** How long `stop` waits for the server to exit after SIGTERM before it sends SIGKILL. */
const STOP_GRACE_MS = 3_000;

/** A test server in its own process (so it does not share the event loop with the client). */
export interface ServerProcess {
  readonly address: string;
  readonly pid: number | undefined;
  /** SIGTERM, then SIGKILL if it has not exited within 3 s; resolves when it has exited. Safe to call twice. */
  stop(): Promise<void>;
  /** SIGKILL at once, synchronously (for an exit path that cannot wait). */
  kill(): void;
}

/**
 * Starts `npm run serve` on a free port in a child process (with `extraArgs`, like
 * `['--record-twice']`) and resolves with its address. The
 * child holds an IPC channel to this process and exits when it closes, so it cannot outlive this
 * process even if this one is killed outright (SIGKILL) and never gets to call `stop`.
 */
export function startServerProcess(extraArgs: readonly string[] = []): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, [...TS_NODE_ARGS, SERVE, '--port', '0', ...extraArgs], {
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    });
    // The channel must not keep this process alive by itself; the child's exit closes it.
    child.channel?.unref();
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server process did not print its address within 20 s'));
    }, 20_000);
    child.once('error', reject);
    const earlyExit = (code: number | null) => reject(new Error(`the server process exited early (code ${code})`));
    child.once('exit', earlyExit);
    const exited = new Promise<void>((done) => child.once('exit', () => done()));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) {
        clearTimeout(timer);
        child.off('exit', earlyExit);
        let stopping: Promise<void> | undefined;
        resolve({
          address: line.trim(),
          pid: child.pid,
          stop: () => {
            stopping ??= (async () => {
              if (child.exitCode !== null || child.signalCode !== null) return;
              child.kill('SIGTERM');
              const killer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
              await exited;
              clearTimeout(killer);
            })();
            return stopping;
          },
          kill: () => {
            if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
          },
        });
      }
    });
  });
}
