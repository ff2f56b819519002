import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TS_NODE_ARGS } from '../src/loader/node-args.js';

const run = promisify(execFile);
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'ts-loader-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function node(file: string) {
  return run(process.execPath, [...TS_NODE_ARGS, file], { cwd: dir }).then(
    (r) => ({ code: 0, ...r }),
    (e: { code: number; stdout: string; stderr: string }) => e,
  );
}

/** helper.ts (an enum, a typed function) and main.ts importing it as ./helper.js: `head` before, `tail` after its 3 lines. */
async function writeDemo(where: string, head: string, tail: string): Promise<void> {
  await writeFile(
    path.join(where, 'helper.ts'),
    'export enum Mode { Fast = 2 }\nexport const twice = (n: number): number => n * 2;\n',
  );
  await writeFile(
    path.join(where, 'main.ts'),
    `${head}import { Mode, twice } from './helper.js';\n` +
      'interface Out { readonly value: number }\n' +
      'const out: Out = { value: twice(Mode.Fast) };\n' +
      tail,
  );
}

// The project's TypeScript loader (src/loader) stands in for tsx in every process the suite and the
// CLIs start: what they rely on is checked here, on files of its own.
describe('the TypeScript loader', () => {
  it('runs a .ts file anywhere (a user adapter): its relative ./x.js import is a .ts file; types and enums', async () => {
    await writeDemo(dir, '', 'console.log(out.value);\n');
    const r = await node(path.join(dir, 'main.ts'));
    expect(r.stderr).toBe('');
    expect(r.stdout).toBe('4\n');
  });

  it('inside the project: runs the file, and an error points at the TypeScript line (source maps)', async () => {
    // Under the project (tmp/ is git-ignored) so that its package imports resolve.
    await mkdir(path.join(process.cwd(), 'tmp'), { recursive: true });
    const inside = await mkdtemp(path.join(process.cwd(), 'tmp', 'loader-test-'));
    try {
      await writeDemo(
        inside,
        "import fc from 'fast-check';\n",
        'console.log(out.value, typeof fc.integer);\n' +
          "if (process.argv[2] === 'throw') {\n" +
          '  const typed: string = "x";\n' +
          "  throw new Error('thrown at line 8 ' + typed);\n" +
          '}\n',
      );
      const ok = await run(process.execPath, [...TS_NODE_ARGS, path.join(inside, 'main.ts')]);
      expect(ok.stdout).toBe('4 function\n');
      const failed = await run(process.execPath, [...TS_NODE_ARGS, path.join(inside, 'main.ts'), 'throw']).then(
        () => undefined,
        (e: { stderr: string }) => e.stderr,
      );
      expect(failed).toMatch(/thrown at line 8 x/);
      expect(failed).toMatch(/main\.ts:8:\d+/);
    } finally {
      await rm(inside, { recursive: true, force: true });
    }
  });

  it('a syntax error names the file and line; the cache keeps only complete entries', async () => {
    await writeFile(path.join(dir, 'broken.ts'), 'const x: number = ;\n');
    const r = await node(path.join(dir, 'broken.ts'));
    expect(r.code).not.toBe(0);
    expect(r.stderr).toMatch(/SyntaxError.*broken\.ts:1:19: Unexpected ";"/);
    // Not esbuild's stack: the file, the line, what is wrong.
    expect(r.stderr).not.toMatch(/esbuild/);
    const cache = path.join(process.cwd(), 'node_modules', '.cache', 'ts-loader');
    expect((await readdir(cache)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});
