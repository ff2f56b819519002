import { ownAdapter } from '../adapter/adapters/own-pool.js';
import { findProperty } from '../catalog.js';
import { modelCheck } from '../explore/model-check.js';
import { findVariant, variantAdapter } from '../variants/index.js';
import { timeLeft, type WorkerMessage, type WorkerReply } from './worker-pool.js';

// One worker process of a PropertyWorkers pool: runs the property checks (and model checks) the
// main process sends, one at a time, with this process's own event loop, servers and pools.
if (!process.send) throw new Error('check-worker.ts runs as a worker process with an IPC channel (see PropertyWorkers)');

// A Ctrl-C reaches the whole process group: the main process decides when a worker stops.
process.on('SIGINT', () => {});
process.on('SIGTERM', () => {});
// The main process is gone (or closed the pool): nothing is left to report to. It may have gone
// while this process was still loading, before the handler was in: then exit at once.
process.on('disconnect', () => process.exit(0));
if (!process.connected) process.exit(0);
// A reply sent as the main process exits (it stopped on another stream's error) fails with EPIPE
// on the IPC channel: nothing is left to report to either, and no adapter trace to print.
process.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE' || error.code === 'ERR_IPC_CHANNEL_CLOSED') process.exit(0);
  throw error;
});

const running = new Set<number>();
const interrupted = new Set<number>();

process.on('message', (message: WorkerMessage) => {
  // An interrupt that arrives after its check has ended is dropped, not kept forever.
  if (message.type === 'interrupt') {
    if (running.has(message.id)) interrupted.add(message.id);
  } else {
    running.add(message.id);
    void runCheck(message).then((reply) => {
      if (process.connected) process.send?.(reply);
    });
  }
});

async function runCheck(job: Exclude<WorkerMessage, { type: 'interrupt' }>): Promise<WorkerReply> {
  try {
    const variant = job.variantName === undefined ? undefined : findVariant(job.variantName);
    if (job.variantName !== undefined && !variant) throw new Error(`no variant named ${job.variantName}`);
    const stop = () => interrupted.has(job.id);
    if (job.type === 'model-check') {
      const adapter = variant ? await variantAdapter(variant) : ownAdapter;
      return { id: job.id, result: await modelCheck(adapter, { ...job.constraints, shouldStop: stop }) };
    }
    const property = findProperty(job.property);
    if (!property) throw new Error(`no property named ${job.property}`);
    const result = await property.check({
      ...job.constraints,
      timeLimitMs: timeLeft(job.constraints.timeLimitMs, job.askedAt),
      variant,
      interruptWhen: stop,
    });
    return { id: job.id, result };
  } catch (error) {
    const e = error as { name?: string; message?: string; code?: unknown; syscall?: unknown };
    return {
      id: job.id,
      error: {
        name: e?.name ?? 'Error',
        message: e?.message ?? String(error),
        code: typeof e?.code === 'string' ? e.code : undefined,
        syscall: typeof e?.syscall === 'string' ? e.syscall : undefined,
      },
    };
  } finally {
    running.delete(job.id);
    interrupted.delete(job.id);
  }
}
