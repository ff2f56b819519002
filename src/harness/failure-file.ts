import { createHash, randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * Version of the failure-file schema this code writes. Version 1 files (no `target`) are read too,
 * as cases found on the suite's own servers.
 */
export const FAILURE_FILE_VERSION = 2;
const READABLE_VERSIONS: readonly number[] = [1, 2];

/**
 * Everything needed to run a failing case again: written when a property fails, read by replay.
 * Plain JSON; `version` says which schema.
 */
export interface FailureFile {
  readonly version: 1 | 2;
  readonly property: string;
  readonly layer: 'live' | 'simulated';
  /** The known-broken variant the run was against, if any. */
  readonly variant: string | null;
  readonly fastCheckVersion: string;
  readonly seed: number;
  readonly path: string;
  readonly commandsReplayPath: string | null;
  /**
   * The shrunk counterexample as readable steps: the commands (or the parallel program's lines)
   * that failed. Replay runs these steps, not what the seed and path generate today.
   */
  readonly counterexample: readonly string[];
  /**
   * Where the case ran: the `--target` servers (host:port, as given), or null for the suite's own
   * servers (live) or the simulated network. Replay runs it there again. Absent in version 1 files.
   */
  readonly target?: readonly string[] | null;
  /** The @grpc/grpc-js release the client stack ran on (absent in version 1 files). */
  readonly grpcJsVersion?: string | null;
  /**
   * The pool the case ran on (`--pool`: a built-in adapter's name or an adapter file's absolute
   * path); absent or null for this project's own pool. Replay runs it on the same pool.
   */
  readonly pool?: string | null;
  readonly error: string;
  readonly options: { readonly maxCommands: number; readonly addresses: number };
  readonly commit: string | null;
  readonly createdAt: string;
  /**
   * sha256 of the fields that name the case (property, layer, variant, seed, path, commands
   * replay path, counterexample, options, and from version 2 the target), written with the file:
   * an edited field is reported as an edit, not blamed on changed generators. Files without it
   * are read as before.
   */
  readonly digest?: string;
}

/** The ranges a failure file's numbers must be in (what the CLIs accept, and what a run can use). */
export const FAILURE_FILE_LIMITS = {
  seed: { min: -(2 ** 31), max: 2 ** 31 - 1 },
  maxCommands: { min: 1, max: 200 },
  addresses: { min: 1, max: 16 },
  counterexampleSteps: { max: 1_000 },
  pathChars: { max: 10_000 },
} as const;

/** Base class of failure-file problems; `code` is stable; `file` names the file. */
export class FailureFileError extends Error {
  readonly code: string;
  readonly file: string;
  constructor(code: string, file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = new.target.name;
    this.code = code;
    this.file = file;
  }
}

/** Writes `failure` into `dir` atomically (temp file + rename); returns the file's path. */
export async function writeFailureFile(dir: string, failure: FailureFile): Promise<string> {
  await mkdir(dir, { recursive: true });
  // Sorts by time, then names the property and layer; the random tail keeps two failures in one ms apart.
  const stamp = failure.createdAt.replace(/[:.]/g, '-');
  const pool = failure.pool
    ? `_${path
        .basename(failure.pool)
        .replace(/\.[cm]?[jt]s$/, '')
        .replace(/[^\w.-]/g, '-')}`
    : '';
  const name = `${stamp}_${failure.property}_${failure.layer}${pool}${failure.variant ? `_${failure.variant}` : ''}_${randomBytes(2).toString('hex')}.json`;
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.tmp`);
  const withDigest: FailureFile = { ...failure, digest: failureDigest(failure) };
  try {
    await writeFile(temp, `${JSON.stringify(withDigest, null, 2)}\n`, { flag: 'wx' });
    await rename(temp, target);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  }
  return target;
}

/** The digest of the fields that name a failure's case (see `FailureFile.digest`). */
export function failureDigest(f: FailureFile): string {
  const named = [
    f.property,
    f.layer,
    f.variant,
    f.seed,
    f.path,
    f.commandsReplayPath,
    f.counterexample,
    f.options.maxCommands,
    f.options.addresses,
    ...(f.version >= 2 ? [f.target ?? null] : []),
    // Only when set, so that files written before pools were pluggable keep their digest.
    ...(f.pool ? [f.pool] : []),
  ];
  return createHash('sha256').update(JSON.stringify(named)).digest('hex');
}

/** Reads and validates a failure file; throws `FailureFileError` naming the file and the problem. */
export async function readFailureFile(file: string): Promise<FailureFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new FailureFileError('ERR_FAILURE_FILE_MISSING', file, code === 'ENOENT' ? 'no such file' : `cannot read it (${code})`);
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_JSON',
      file,
      `not valid JSON (${(error as Error).message}); the file may be truncated - copy it again from the run's artifacts`,
    );
  }
  return validateFailure(file, data);
}

function validateFailure(file: string, data: unknown): FailureFile {
  const bad = (problem: string): never => {
    throw new FailureFileError('ERR_FAILURE_FILE_SCHEMA', file, problem);
  };
  if (typeof data !== 'object' || data === null || Array.isArray(data)) return bad('not a failure file (expected a JSON object)');
  const d = data as Record<string, unknown>;
  if (!READABLE_VERSIONS.includes(d.version as number)) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_VERSION',
      file,
      `schema version ${JSON.stringify(d.version)} is not one this tool knows (it reads versions ${READABLE_VERSIONS.join(' and ')})`,
    );
  }
  const need = (key: string, type: 'string' | 'number'): void => {
    if (typeof d[key] !== type) bad(`field "${key}" must be a ${type}`);
  };
  need('property', 'string');
  need('fastCheckVersion', 'string');
  need('seed', 'number');
  need('path', 'string');
  need('error', 'string');
  if (d.layer !== 'live' && d.layer !== 'simulated') bad('field "layer" must be "live" or "simulated"');
  if (!Array.isArray(d.counterexample) || !d.counterexample.every((s) => typeof s === 'string')) {
    bad('field "counterexample" must be a list of steps');
  }
  const o = d.options as Record<string, unknown> | undefined;
  if (typeof o !== 'object' || o === null || typeof o.maxCommands !== 'number' || typeof o.addresses !== 'number') {
    bad('field "options" must hold maxCommands and addresses');
  }
  if (d.commandsReplayPath !== null && typeof d.commandsReplayPath !== 'string')
    bad('field "commandsReplayPath" must be a string or null');
  if (d.variant !== null && typeof d.variant !== 'string') bad('field "variant" must be a string or null');
  if (
    d.target !== undefined &&
    d.target !== null &&
    !(Array.isArray(d.target) && d.target.length > 0 && d.target.every((t) => typeof t === 'string' && t.length > 0))
  ) {
    bad('field "target" must be null (the suite\'s own servers) or a non-empty list of "host:port" strings');
  }
  if (d.target != null && d.layer !== 'live') bad('field "target" needs "layer": "live" (a target is a live server)');
  if (d.pool !== undefined && d.pool !== null && (typeof d.pool !== 'string' || d.pool === ''))
    bad('field "pool" must be null (this project\'s pool) or a non-empty string (an adapter name or file)');
  if (d.grpcJsVersion !== undefined && d.grpcJsVersion !== null && typeof d.grpcJsVersion !== 'string')
    bad('field "grpcJsVersion" must be a string or null');
  const L = FAILURE_FILE_LIMITS;
  const integerIn = (name: string, value: unknown, range: { min: number; max: number }): void => {
    if (!Number.isInteger(value) || (value as number) < range.min || (value as number) > range.max) {
      bad(`field "${name}" must be a whole number in ${range.min}..${range.max}; got ${JSON.stringify(value)}`);
    }
  };
  integerIn('seed', d.seed, L.seed);
  integerIn('options.maxCommands', o?.maxCommands, L.maxCommands);
  integerIn('options.addresses', o?.addresses, L.addresses);
  if (!/^(\d+(:\d+)*)?$/.test(d.path as string) || (d.path as string).length > L.pathChars.max) {
    bad(
      `field "path" must be fast-check's replay path: numbers joined by ":" (like "3:1:0"), at most ${L.pathChars.max} characters`,
    );
  }
  if (typeof d.commandsReplayPath === 'string' && d.commandsReplayPath.length > L.pathChars.max) {
    bad(`field "commandsReplayPath" must be at most ${L.pathChars.max} characters`);
  }
  if ((d.counterexample as unknown[]).length > L.counterexampleSteps.max) {
    bad(`field "counterexample" must hold at most ${L.counterexampleSteps.max} steps`);
  }
  const failure = d as unknown as FailureFile;
  if (d.digest !== undefined && d.digest !== failureDigest(failure)) {
    throw new FailureFileError(
      'ERR_FAILURE_FILE_EDITED',
      file,
      'was edited after it was written: its property, layer, variant, seed, path, commandsReplayPath, counterexample, options or target ' +
        'no longer match its "digest"; restore it from the run\'s artifacts, or delete "digest" to replay the edited case anyway',
    );
  }
  return failure;
}
