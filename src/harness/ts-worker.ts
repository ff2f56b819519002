import { Worker, type WorkerOptions } from 'node:worker_threads';

/**
 * Starts a worker thread on a TypeScript module. The worker registers tsx's loader before it
 * imports the module, so the same source runs under vitest, tsx and the CLIs without a build step.
 */
export function startTsWorker(moduleUrl: URL, options: Omit<WorkerOptions, 'eval'> = {}): Worker {
  const bootstrap = `
    (async () => {
      const { register } = await import('tsx/esm/api');
      register();
      await import(${JSON.stringify(moduleUrl.href)});
    })().catch((error) => { console.error(error); process.exit(1); });
  `;
  return new Worker(bootstrap, { ...options, eval: true });
}
