import { Worker, type WorkerOptions } from 'node:worker_threads';
import { TS_LOADER_URL } from '../loader/node-args.js';

/**
 * Starts a worker thread on a TypeScript module. The worker imports the project's TypeScript
 * loader (src/loader/register.mjs: its hooks and source maps, as `--import` gives a process)
 * before it imports the module, so the same source runs under vitest and the
 * CLIs without a build step.
 */
export function startTsWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `
    (async () => {
      await import(${JSON.stringify(TS_LOADER_URL)});
      await import(${JSON.stringify(moduleUrl.href)});
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  return new Worker(bootstrap, { ...options, eval: true });
}
