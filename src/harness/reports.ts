import { mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** One test case of a JUnit report. */
export interface JUnitCase {
  readonly name: string;
  readonly classname: string;
  readonly timeSeconds: number;
  readonly failure?: { readonly message: string; readonly body: string };
}

const escapeXml = (s: string): string =>
  s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&apos;');

/** A JUnit XML document (the subset CI systems read: testsuite, testcase, failure). */
export function junitXml(suite: string, cases: readonly JUnitCase[]): string {
  const failures = cases.filter((c) => c.failure).length;
  const time = cases.reduce((t, c) => t + c.timeSeconds, 0);
  const body = cases
    .map((c) => {
      const open = `  <testcase name="${escapeXml(c.name)}" classname="${escapeXml(c.classname)}" time="${c.timeSeconds.toFixed(3)}"`;
      if (!c.failure) return `${open}/>`;
      return `${open}>\n    <failure message="${escapeXml(c.failure.message)}">${escapeXml(c.failure.body)}</failure>\n  </testcase>`;
    })
    .join('\n');
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuite name="${escapeXml(suite)}" tests="${cases.length}" failures="${failures}" errors="0" time="${time.toFixed(3)}">\n` +
    `${body}\n</testsuite>\n`
  );
}

/** Writes `text` to `file` atomically (temp file + rename), creating its folder. */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(path.resolve(file)), { recursive: true });
  const temp = `${file}.${process.pid}.tmp`;
  await writeFile(temp, text);
  await rename(temp, file);
}
