import { Worker, type WorkerOptions } from 'node:worker_threads';
import { TS_HOOKS_URL } from '../loader/node-args.js';

/**
 * Starts a worker thread on a TypeScript module. The worker registers the project's TypeScript
 * loader (src/loader) before it imports the module, so the same source runs under vitest and the
 * CLIs without a build step.
 */
export function startTsWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `
    (async () => {
      const { register } = await import('node:module');
      register(${JSON.stringify(TS_HOOKS_URL)});
      await import(${JSON.stringify(moduleUrl.href)});
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  return new Worker(bootstrap, { ...options, eval: true });
}
