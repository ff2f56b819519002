import { execFileSync } from 'node:child_process';
import { readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import fc from 'fast-check';
import {
  FAILURE_FILE_VERSION,
  type FailureFile,
  FailureFileError,
  readFailureFile,
  writeFailureFile,
} from '../src/harness/failure-file.js';
import { grpcJsRelease } from '../src/pool/grpc-js-release.js';
import { findProperty, PROPERTIES } from './catalog.js';
import type { PropertyConstraints, PropertyResult } from './check-runner.js';
import { ProgramTextError } from './parallel/program-text.js';
import { findVariant } from './variants/index.js';

/** The committed corpus of failure files replayed before new random runs. */
export const REGRESSIONS_DIR = new URL('./regressions/', import.meta.url);

/**
 * Saves a failed result as a failure file in `dir`, and beside it the HTML timeline of its history
 * when the property drew one (`<name>.timeline.html`, self-contained). Returns the failure file.
 */
export async function saveFailure(dir: string, result: PropertyResult): Promise<string> {
  const file = await writeFailureFile(dir, toFailureFile(result));
  if (result.timelineHtml) await writeFile(file.replace(/\.json$/, '.timeline.html'), result.timelineHtml);
  return file;
}

/** The failure file for a failed property result. */
export function toFailureFile(result: PropertyResult): FailureFile {
  if (result.passed) throw new Error('toFailureFile needs a failed result');
  return {
    version: FAILURE_FILE_VERSION,
    property: result.property,
    layer: result.layer,
    variant: result.variant ?? null,
    fastCheckVersion: result.fastCheckVersion,
    seed: result.seed,
    path: result.path ?? '',
    commandsReplayPath: result.commandsReplayPath ?? null,
    counterexample: result.counterexample ?? [],
    error: result.error ?? '',
    options: { maxCommands: result.constraints.maxCommands, addresses: result.constraints.addresses },
    target: result.targets?.length ? [...result.targets] : null,
    ...(result.pool ? { pool: result.pool } : {}),
    grpcJsVersion: result.grpcJs ?? grpcJsVersion(),
    commit: currentCommit(),
    createdAt: new Date().toISOString(),
  };
}

/**
 * The @grpc/grpc-js release the client stack runs on in this process (`--grpc-js`, else the one
 * package.json pins), or null if it cannot be loaded.
 */
export function grpcJsVersion(): string | null {
  try {
    return grpcJsRelease();
  } catch {
    return null;
  }
}

function currentCommit(): string | null {
  try {
    return execFileSync('git', ['rev-parse', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return null;
  }
}

export interface Replayed {
  readonly file: string;
  readonly failure: FailureFile;
  /** The result of the replay: of the recorded schedule when it failed, else of the last schedule tried. */
  readonly result: PropertyResult;
  /** The case failed again (on the recorded schedule or on one of the fresh ones). */
  readonly reproduced: boolean;
  /** It failed on exactly the recorded schedule (the seed's run the failure came from). */
  readonly onRecordedSchedule: boolean;
  /** It failed with the same steps as the file records. */
  readonly sameCounterexample: boolean;
  /** Where it ran: the `--target` servers, or null for the suite's own servers (or the simulated network). */
  readonly target: readonly string[] | null;
  /** Set when the file was written by another fast-check version (replay is tried anyway). */
  readonly versionWarning: string | undefined;
}

/** Options of `replayFile`. */
export interface ReplayOptions {
  /**
   * Run against these servers instead of where the file says the case ran (its `target`, or the
   * suite's own servers). Only for live cases.
   */
  readonly target?: readonly string[];
}

/** Fresh schedules tried for the recorded steps after the recorded schedule passed, per layer. */
const FRESH_SCHEDULES = { simulated: 50, live: 4 } as const;

/**
 * Reads `file` and runs its case once more: its recorded steps (the commands, or the parallel
 * program), first on the recorded schedule (the scheduler the failing run had: same seed, same run),
 * then, if that passes, on a few fresh schedules. The steps are what the file holds, so a change to
 * the generators cannot make it replay another case: it is stale only when its steps can no longer
 * be expressed. Throws `FailureFileError` for an unusable file.
 */
export async function replayFile(file: string, options: ReplayOptions = {}): Promise<Replayed> {
  const failure = await readFailureFile(file);
  const property = findProperty(failure.property);
  if (!property) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_PROPERTY',
      file,
      `property "${failure.property}" no longer exists (known: ${PROPERTIES.map((p) => p.name).join(', ')})`,
    );
  }
  const variant = failure.variant === null ? undefined : findVariant(failure.variant);
  if (failure.variant !== null && !variant) {
    throw new FailureFileError('ERR_FAILURE_FILE_VARIANT', file, `broken variant "${failure.variant}" no longer exists`);
  }
  if (options.target && failure.layer !== 'live') {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_TARGET',
      file,
      'was found on the simulated layer: it cannot run against --target',
    );
  }
  if (options.target && !property.supportsTarget) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_TARGET',
      file,
      `${failure.property} cannot run against --target (it starts its own servers)`,
    );
  }
  const target = options.target ?? failure.target ?? null;
  const versionWarning =
    failure.fastCheckVersion === fc.__version
      ? undefined
      : `${file}: written with fast-check ${failure.fastCheckVersion}, this is ${fc.__version}; the case may not replay exactly`;
  const base = {
    layer: failure.layer,
    addresses: failure.options.addresses,
    maxCommands: failure.options.maxCommands,
    variant,
    ...(failure.pool ? { pool: failure.pool } : {}),
    noShrink: true,
    ...(target ? { targets: target } : {}),
  };
  const done = (result: PropertyResult, onRecordedSchedule: boolean): Replayed => ({
    file,
    failure,
    result,
    reproduced: !result.passed,
    onRecordedSchedule,
    sameCounterexample: !result.passed && sameSteps(result.counterexample, failure.counterexample),
    target,
    versionWarning,
  });
  if (failure.counterexample.length === 0) {
    // Nothing recorded to run but the seed and path (a file written by hand).
    const result = await runReplay(file, () =>
      property.check({
        ...base,
        seed: failure.seed,
        path: failure.path,
        commandsReplayPath: failure.commandsReplayPath ?? undefined,
        runs: 1,
      }),
    );
    return done(result, !result.passed);
  }
  const steps = failure.counterexample;
  const check = (more: PropertyConstraints) =>
    property.check({ ...base, steps, ...more }).catch((error: unknown) => {
      if (error instanceof ProgramTextError) {
        throw new FailureFileError(
          'ERR_FAILURE_FILE_STALE',
          file,
          `its recorded steps can no longer be expressed (${error.message}): the commands changed since it was written; find the case again and save a new file`,
        );
      }
      throw error;
    });
  // The scheduler is the first thing a run generates, from the run's own random stream: the same
  // seed and run index give the failing run's scheduler, whatever the steps' generator became.
  const run = Number((failure.path.split(':')[0] ?? '') || 0);
  const recorded = await check({ seed: failure.seed, path: String(run), runs: 1 });
  if (!recorded.passed) return done(recorded, true);
  const fresh = await check({ seed: failure.seed + 1, runs: FRESH_SCHEDULES[failure.layer] });
  return done(fresh, false);
}

function sameSteps(found: readonly string[] | undefined, recorded: readonly string[]): boolean {
  return JSON.stringify(found ?? []) === JSON.stringify(recorded);
}

/** Runs a replay, turning fast-check's refusal of a path that no longer exists into a typed error. */
async function runReplay(file: string, replay: () => Promise<PropertyResult>): Promise<PropertyResult> {
  try {
    return await replay();
  } catch (error) {
    if (error instanceof Error && /Unable to replay/.test(error.message)) {
      throw new FailureFileError(
        'ERR_FAILURE_FILE_STALE',
        file,
        `its path no longer exists (${error.message}): the generators changed since it was written; find the case again and save a new file`,
      );
    }
    throw error;
  }
}

/** The failure files in the regression corpus (or `dir`), sorted by name (oldest first). */
export async function regressionFiles(dir: string = REGRESSIONS_DIR.pathname): Promise<string[]> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return [];
  }
  return names
    .filter((n) => n.endsWith('.json'))
    .sort()
    .map((n) => path.join(dir, n));
}
