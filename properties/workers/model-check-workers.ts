import type { ModelCheckConstraints, ModelCheckReport, SizeReport } from '../explore/model-check.js';
import { InterruptGroup, type PortableModelCheck, type PropertyWorkers } from './worker-pool.js';

/**
 * `modelCheck` with each size's programs split over the worker processes (one share each), size
 * after size, so that a violation is still found in a shortest program: the next size starts only
 * once every share of this one is done. A share that finds a violation interrupts the others of
 * its size; the violation reported is the lowest share's. The counts add up to what one process
 * reports (each program is searched on its own, with its own state hash).
 */
export async function modelCheckOnWorkers(
  workers: PropertyWorkers,
  variantName: string | undefined,
  c: ModelCheckConstraints,
  shares = workers.size,
  onSize?: (size: SizeReport) => void,
): Promise<ModelCheckReport> {
  const started = performance.now();
  const { shouldStop, onProgram: _perProgram, ...portable } = c;
  const clients = c.clients ?? 2;
  const deadline = c.timeMs === undefined ? undefined : started + c.timeMs;
  const reports: ModelCheckReport[] = [];
  const sizes: SizeReport[] = [];
  let stopped = false;
  for (let n = c.minCommands ?? clients; n <= (c.maxCommands ?? 3); n++) {
    const left = deadline === undefined ? undefined : deadline - performance.now();
    if ((left !== undefined && left <= 0) || shouldStop?.()) {
      stopped = true;
      break;
    }
    const group = new InterruptGroup();
    const watch = setInterval(() => {
      if (shouldStop?.()) group.interrupt();
    }, 50);
    const ofSize = await Promise.all(
      Array.from({ length: shares }, (_, index) => {
        const share: PortableModelCheck = {
          ...portable,
          minCommands: n,
          maxCommands: n,
          timeMs: left,
          shard: { index, count: shares },
        };
        return workers.modelCheck(share, variantName, group).then((r) => {
          if (r.failure) group.interrupt();
          return r;
        });
      }),
    ).finally(() => clearInterval(watch));
    reports.push(...ofSize);
    const first = ofSize[0]?.sizes[0];
    const size: SizeReport = {
      size: n,
      total: first?.total ?? 0,
      explored: ofSize.reduce((k, r) => k + (r.sizes[0]?.explored ?? 0), 0),
      sampled: first?.sampled ?? false,
    };
    sizes.push(size);
    onSize?.(size);
    if (ofSize.some((r) => r.failure || !r.exhausted)) break;
  }
  const sum = (pick: (r: ModelCheckReport) => number) => reports.reduce((k, r) => k + pick(r), 0);
  const failure = reports.find((r) => r.failure)?.failure;
  return {
    programs: sum((r) => r.programs),
    runs: sum((r) => r.runs),
    schedules: sum((r) => r.schedules),
    prunedByHash: sum((r) => r.prunedByHash),
    prunedBySleep: sum((r) => r.prunedBySleep),
    states: sum((r) => r.states),
    flakes: reports.flatMap((r) => r.flakes),
    elapsedMs: performance.now() - started,
    exhausted: !stopped && reports.length > 0 && reports.every((r) => r.exhausted),
    interrupted: !failure && (shouldStop?.() ?? false),
    sizes,
    ...(failure ? { failure } : {}),
  };
}
