import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Program } from '../parallel/program.js';

/** Version of the trail-file schema this code writes and reads. */
export const TRAIL_FILE_VERSION = 1;

/**
 * A model-checking counterexample: the program, the trail of choices (the index among the ready
 * tasks at each step; after it, the oldest ready task), the variant and the number of servers.
 * `npm run replay`'s failure files name a case by fast-check seed and path, which cannot carry a
 * trail: `npm run model-check -- --replay FILE` reads these instead.
 */
export interface TrailFile {
  readonly kind: 'model-check';
  readonly version: typeof TRAIL_FILE_VERSION;
  readonly program: Program;
  readonly trail: readonly number[];
  readonly variant: string | null;
  readonly addresses: number;
  /** Readable, for the person who opens the file; not read back. */
  readonly steps: readonly string[];
  readonly schedule: readonly string[];
  readonly error: string;
  readonly createdAt: string;
}

/** A trail file that cannot be used, naming the file and the problem. */
export class TrailFileError extends Error {
  readonly code = 'ERR_TRAIL_FILE';
  constructor(file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = 'TrailFileError';
  }
}

/** Writes `f` into `dir` atomically; returns its path. */
export async function writeTrailFile(dir: string, f: TrailFile): Promise<string> {
  await mkdir(dir, { recursive: true });
  const name = `${f.createdAt.replace(/[:.]/g, '-')}_model-check${f.variant ? `_${f.variant}` : ''}_${randomBytes(2).toString('hex')}.json`;
  const target = path.join(dir, name);
  const temp = path.join(dir, `.${name}.tmp`);
  await writeFile(temp, `${JSON.stringify(f, null, 2)}\n`, { flag: 'wx' });
  await rename(temp, target);
  return target;
}

/** Reads and checks a trail file (shape and ranges; the program's operations are checked when it runs). */
export async function readTrailFile(file: string): Promise<TrailFile> {
  let data: unknown;
  try {
    data = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new TrailFileError(file, code ? `cannot read it (${code})` : `not valid JSON (${(error as Error).message})`);
  }
  const d = data as Partial<Record<keyof TrailFile, unknown>>;
  const bad = (problem: string): never => {
    throw new TrailFileError(file, problem);
  };
  if (typeof d !== 'object' || d === null || d.kind !== 'model-check')
    bad('not a model-check trail file (expected "kind": "model-check")');
  if (d.version !== TRAIL_FILE_VERSION) bad(`schema version ${JSON.stringify(d.version)} is not ${TRAIL_FILE_VERSION}`);
  if (!Array.isArray(d.trail) || !d.trail.every((x) => Number.isInteger(x) && x >= 0))
    bad('field "trail" must be a list of whole numbers >= 0');
  if (!Number.isInteger(d.addresses) || (d.addresses as number) < 1 || (d.addresses as number) > 16)
    bad('field "addresses" must be in 1..16');
  if (d.variant !== null && typeof d.variant !== 'string') bad('field "variant" must be a string or null');
  const p = d.program as Partial<Program> | undefined;
  if (
    typeof p !== 'object' ||
    p === null ||
    !Array.isArray(p.prefix) ||
    !Array.isArray(p.branches) ||
    !Array.isArray(p.nemesis)
  ) {
    bad('field "program" must hold prefix, branches and nemesis lists');
  }
  if (p?.hold !== null && !Number.isInteger(p?.hold)) bad('field "program.hold" must be a whole number or null');
  return d as TrailFile;
}
