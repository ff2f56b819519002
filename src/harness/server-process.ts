import { type ChildProcess, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const SERVE = fileURLToPath(new URL('../cli/serve.ts', import.meta.url));

/** A test server in its own process (so it does not share the event loop with the client). */
export interface ServerProcess {
  readonly address: string;
  stop(): Promise<void>;
}

/** Starts `npm run serve` on a free port in a child process and resolves with its address. */
export function startServerProcess(): Promise<ServerProcess> {
  return new Promise((resolve, reject) => {
    const child: ChildProcess = spawn(process.execPath, ['--import', 'tsx', SERVE, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let buffered = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error('the server process did not print its address within 20 s'));
    }, 20_000);
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`the server process exited early (code ${code})`)));
    child.stdout?.on('data', (chunk: Buffer) => {
      buffered += chunk.toString();
      const line = buffered.split('\n')[0];
      if (buffered.includes('\n') && line) {
        clearTimeout(timer);
        child.removeAllListeners('exit');
        resolve({
          address: line.trim(),
          stop: () =>
            new Promise<void>((done) => {
              child.once('exit', () => done());
              child.kill('SIGTERM');
            }),
        });
      }
    });
  });
}
