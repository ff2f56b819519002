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
import { findProperty, PROPERTIES } from './catalog.js';
import type { PropertyResult } from './check-runner.js';
import { ProgramTextError } from './parallel/program-text.js';
import { findVariant } from './variants/index.js';

/** Schedules tried for a program replayed from its steps before it is said to pass. */
const STEP_REPLAY_SCHEDULES = 200;

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
    commit: currentCommit(),
    createdAt: new Date().toISOString(),
  };
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
  readonly result: PropertyResult;
  /** The case failed again. */
  readonly reproduced: boolean;
  /** It failed with the same steps as the file records. */
  readonly sameCounterexample: boolean;
  /** Set when the file was written by another fast-check version (replay is tried anyway). */
  readonly versionWarning: string | undefined;
}

/** Reads `file` and runs exactly its case once more. Throws `FailureFileError` for an unusable file. */
export async function replayFile(file: string): Promise<Replayed> {
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
  const versionWarning =
    failure.fastCheckVersion === fc.__version
      ? undefined
      : `${file}: written with fast-check ${failure.fastCheckVersion}, this is ${fc.__version}; the case may not replay exactly`;
  // A parallel program's steps are the program itself: run them directly (over fresh schedules
  // from the file's seed), whatever the generators have become since the file was written.
  if (failure.property === 'pool-linearizable' && failure.counterexample.length > 0) {
    const replayed = await property
      .check({
        layer: failure.layer,
        seed: failure.seed,
        steps: failure.counterexample,
        addresses: failure.options.addresses,
        maxCommands: failure.options.maxCommands,
        variant,
        runs: STEP_REPLAY_SCHEDULES,
        noShrink: true,
      })
      .catch((error: unknown) => {
        if (error instanceof ProgramTextError) throw new FailureFileError('ERR_FAILURE_FILE_STEPS', file, error.message);
        throw error;
      });
    return {
      file,
      failure,
      result: replayed,
      reproduced: !replayed.passed,
      sameCounterexample: !replayed.passed,
      versionWarning,
    };
  }
  const result = await runReplay(file, () =>
    property.check({
      layer: failure.layer,
      seed: failure.seed,
      path: failure.path,
      commandsReplayPath: failure.commandsReplayPath ?? undefined,
      maxCommands: failure.options.maxCommands,
      addresses: failure.options.addresses,
      variant,
      runs: 1,
      noShrink: true,
    }),
  );
  // The seed and path name a case only as long as the generators are unchanged: check it is the same case.
  if (JSON.stringify(result.lastSteps ?? []) !== JSON.stringify(failure.counterexample)) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_STALE',
      file,
      `its seed and path now generate other steps (${(result.lastSteps ?? []).join(' ; ') || 'none'}) than it recorded ` +
        `(${failure.counterexample.join(' ; ')}): the generators changed since it was written; find the case again and save a new file`,
    );
  }
  const steps = result.counterexample ?? [];
  return {
    file,
    failure,
    result,
    reproduced: !result.passed,
    sameCounterexample: !result.passed && JSON.stringify(steps) === JSON.stringify(failure.counterexample),
    versionWarning,
  };
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
