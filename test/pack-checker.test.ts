import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { ROOT } from './run-cli.js';

const run = promisify(execFile);
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
let temp: string | undefined;

afterAll(async () => {
  if (temp) await rm(temp, { recursive: true, force: true });
});

interface LockEntry {
  readonly dev?: boolean;
  readonly devOptional?: boolean;
}

/**
 * A lockfile for a project that depends only on the tarball: the tarball's entry, plus the
 * project's own runtime packages copied from its package-lock.json. With every version pinned (and
 * fetched by `npm ci` before), `npm install --offline` takes them all from npm's cache.
 */
async function consumerLock(tarball: string, spec: string): Promise<object> {
  const lock = JSON.parse(await readFile(path.join(ROOT, 'package-lock.json'), 'utf8'));
  const own = JSON.parse(await readFile(path.join(ROOT, 'package.json'), 'utf8'));
  const runtime = Object.entries(lock.packages as Record<string, LockEntry>).filter(
    ([where, entry]) => where !== '' && !entry.dev && !entry.devOptional,
  );
  const integrity = `sha512-${createHash('sha512')
    .update(await readFile(tarball))
    .digest('base64')}`;
  return {
    name: 'checker-consumer',
    version: '0.0.0',
    lockfileVersion: 3,
    requires: true,
    packages: {
      '': { name: 'checker-consumer', version: '0.0.0', dependencies: { [own.name]: spec } },
      [`node_modules/${own.name}`]: { version: own.version, resolved: spec, integrity, dependencies: own.dependencies },
      ...Object.fromEntries(runtime),
    },
  };
}

// What a user writes: a model of their own (a counter), checked through the package's entry point.
const SCRIPT = `import { checkOperations, kvModel } from 'grpc-pool-props/linearizability';
const counter = {
  init: () => 0,
  step: (n, input, output) => (input === 'inc' ? n + 1 : output === undefined || output === n ? n : undefined),
  hash: String,
};
const inc = { id: 0, client: 'a', input: 'inc', output: 'ok', call: 0, ret: 1 };
const good = checkOperations(counter, [inc, { id: 1, client: 'b', input: 'get', output: 1, call: 2, ret: 3 }]);
const bad = checkOperations(counter, [inc, { id: 1, client: 'b', input: 'get', output: 0, call: 2, ret: 3 }]);
const kv = checkOperations(kvModel, [
  { id: 0, client: 'a', input: { kind: 'put', key: 'k', value: 'v' }, output: { kind: 'put' }, call: 0, ret: 1 },
]);
console.log(JSON.stringify({ good: good.result, bad: bad.result, label: kv.partitions[0].label }));
`;

// The same through TypeScript: the entry's declarations must type a user's model.
const TYPED = `import { checkOperations, type LinearizabilityModel } from 'grpc-pool-props/linearizability';
const counter: LinearizabilityModel<number, 'inc' | 'get', number | 'ok'> = {
  init: () => 0,
  step: (n, input, output) => (input === 'inc' ? n + 1 : output === n ? n : undefined),
  hash: String,
};
export const verdict: 'linearizable' | 'not-linearizable' | 'unknown' = checkOperations(counter, []).result;
`;

describe('the packed package', () => {
  it('installs offline into an empty project, whose script imports grpc-pool-props/linearizability and checks a history', async () => {
    temp = await mkdtemp(path.join(tmpdir(), 'pack-checker-'));
    // prepack builds dist/ (tsconfig.lib.json) first.
    await run(npm, ['pack', '--pack-destination', temp, '--silent'], { cwd: ROOT });
    const tarballs = (await readdir(temp)).filter((f) => f.endsWith('.tgz'));
    expect(tarballs).toHaveLength(1);
    const tarball = path.join(temp, tarballs[0] as string);
    const { stdout: listing } = await run('tar', ['-tzf', tarball]);
    expect(listing).toContain('package/dist/linearizability/index.js');
    expect(listing).toContain('package/dist/linearizability/index.d.ts');
    expect(listing).not.toMatch(/\.test\.|package\/src\//);

    const project = path.join(temp, 'consumer');
    await mkdir(project);
    const spec = `file:../${tarballs[0]}`;
    const pkg = {
      name: 'checker-consumer',
      version: '0.0.0',
      private: true,
      type: 'module',
      dependencies: { 'grpc-pool-props': spec },
    };
    await writeFile(path.join(project, 'package.json'), JSON.stringify(pkg, null, 2));
    await writeFile(path.join(project, 'package-lock.json'), JSON.stringify(await consumerLock(tarball, spec), null, 2));
    await run(npm, ['install', '--offline', '--no-audit', '--no-fund', '--ignore-scripts'], { cwd: project });

    await writeFile(path.join(project, 'check.mjs'), SCRIPT);
    const { stdout } = await run(process.execPath, ['check.mjs'], { cwd: project });
    expect(JSON.parse(stdout)).toEqual({ good: 'linearizable', bad: 'not-linearizable', label: 'k' });

    await writeFile(path.join(project, 'check.ts'), TYPED);
    const tsconfig = {
      compilerOptions: { module: 'nodenext', strict: true, noEmit: true, types: [], skipLibCheck: false },
      files: ['check.ts'],
    };
    await writeFile(path.join(project, 'tsconfig.json'), JSON.stringify(tsconfig));
    const tsc = path.join(ROOT, 'node_modules', '.bin', 'tsc');
    await expect(run(tsc, ['-p', project], { cwd: project })).resolves.toMatchObject({ stdout: '' });
  }, 90_000);
});
