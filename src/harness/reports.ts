import { constants, rmSync } from 'node:fs';
import { access, mkdir, rename, stat, unlink, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One test case of a JUnit report. */
export interface JUnitCase {
  readonly name: string;
  readonly classname: string;
  readonly timeSeconds: number;
  readonly failure?: { readonly message: string; readonly body: string };
  /** Why the case checked nothing (for example: the time budget ran out before its first run). */
  readonly skipped?: string;
}

/** Options of a JUnit report. */
export interface JUnitOptions {
  /** Set when the run was stopped early (the signal's name): the report is partial. */
  readonly interrupted?: string;
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** A JUnit XML document (the subset CI systems read: testsuite, properties, testcase, failure, skipped). */
export function junitXml(suite: string, cases: readonly JUnitCase[], options: JUnitOptions = {}): string {
  const failures = cases.filter((c) => c.failure).length;
  const skipped = cases.filter((c) => !c.failure && c.skipped !== undefined).length;
  const time = cases.reduce((t, c) => t + c.timeSeconds, 0);
  const body = cases
    .map((c) => {
      const open = `  <testcase name="${escapeXml(c.name)}" classname="${escapeXml(c.classname)}" time="${c.timeSeconds.toFixed(3)}"`;
      if (c.failure) {
        return `${open}>\n    <failure message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.body)}</failure>\n  </testcase>`;
      }
      if (c.skipped !== undefined) return `${open}>\n    <skipped message="${escapeXml(c.skipped)}"/>\n  </testcase>`;
      return `${open}/>`;
    })
    .join('\n');
  const name = options.interrupted ? `${suite} (interrupted by ${options.interrupted})` : suite;
  const properties = options.interrupted
    ? `  <properties>\n    <property name="interrupted" value="${escapeXml(options.interrupted)}"/>\n  </properties>\n`
    : '';
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuite name="${escapeXml(name)}" tests="${cases.length}" failures="${failures}" errors="0"${skipped > 0 ? ` skipped="${skipped}"` : ''} time="${time.toFixed(3)}">\n` +
    `${properties}${body}\n</testsuite>\n`
  );
}

/** Temp files being written right now: removed if the process exits before their rename. */
const tempsInFlight = new Set<string>();
let removeTempsOnExit = false;

/** Writes `text` to `file` atomically (temp file + rename), creating its folder; leaves no temp file behind. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  if (!removeTempsOnExit) {
    removeTempsOnExit = true;
    // A process that exits mid-write (a deliberate second Ctrl-C, an error elsewhere) must not leave
    // a half-written temp file: 'exit' handlers run synchronously, so the removal is too.
    process.on('exit', () => {
      for (const t of tempsInFlight) rmSync(t, { force: true });
    });
  }
  tempsInFlight.add(temp);
  try {
    await writeFile(temp, text);
    await rename(temp, file);
  } catch (error) {
    await unlink(temp).catch(() => {});
    throw error;
  } finally {
    tempsInFlight.delete(temp);
  }
}

/** An output path that cannot be written; `code` is the errno that shows it (ENOTDIR, EISDIR, EACCES). */
export class OutputPathError extends Error {
  readonly code: string;
  readonly path: string;
  constructor(code: string, file: string, problem: string) {
    super(`${file}: ${problem}`);
    this.name = new.target.name;
    this.code = code;
    this.path = file;
  }
}

/**
 * Checks, without writing anything, that `file` can be written later (its folder created if
 * missing): no part of its folder path is a file, it is not a folder, and the nearest existing
 * folder is writable. Throws `OutputPathError`. Run before a long job, so it cannot fail at the end.
 */
export async function checkOutputFile(file: string): Promise<void> {
  const info = await stat(file).catch(() => undefined);
  if (info?.isDirectory()) throw new OutputPathError('EISDIR', file, 'is a folder; give a file name');
  if (info) return checkWritable(file, file, 'the file is not writable');
  await checkOutputDir(path.dirname(path.resolve(file)), file);
}

/** As `checkOutputFile`, for a folder that files will be written into. */
export async function checkOutputDir(dir: string, named: string = dir): Promise<void> {
  let current = path.resolve(dir);
  for (;;) {
    const info = await stat(current).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return undefined;
      if (error.code === 'ENOTDIR') throw new OutputPathError('ENOTDIR', named, 'a part of the path is a file, not a folder');
      throw new OutputPathError(error.code ?? 'EIO', named, `cannot use it (${error.code})`);
    });
    if (info && !info.isDirectory()) {
      throw new OutputPathError('ENOTDIR', named, `${current} is a file, not a folder`);
    }
    if (info) return checkWritable(current, named, `folder ${current} is not writable`);
    const parent = path.dirname(current);
    if (parent === current) return;
    current = parent;
  }
}

async function checkWritable(target: string, named: string, problem: string): Promise<void> {
  try {
    await access(target, constants.W_OK);
  } catch (error) {
    throw new OutputPathError((error as NodeJS.ErrnoException).code ?? 'EACCES', named, problem);
  }
}
