import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdir, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const NODE_MODULES = path.join(ROOT, 'node_modules');

/** The oldest release the client stack is known to run on (the matrix starts here). */
export const OLDEST_SUPPORTED = '1.8.0';

/**
 * The servers' own pinned copy (an npm alias): never handed to the client stack, so that the two
 * sides always load separate module instances, even when their versions are equal.
 */
const SERVER_ALIAS = 'grpc-js-server';

/** Where releases installed on first use are kept, one folder a version (override: `GRPC_POOL_PROPS_CACHE`). */
export function releaseCacheDir(): string {
  return process.env.GRPC_POOL_PROPS_CACHE ?? path.join(NODE_MODULES, '.cache', 'grpc-pool-props', 'grpc-js');
}

/** A release that cannot be used: a version that is not `X.Y.Z`, or one that cannot be installed or listed. */
export class GrpcJsReleaseError extends Error {
  readonly code: 'ERR_GRPC_JS_VERSION' | 'ERR_GRPC_JS_UNAVAILABLE';
  constructor(code: GrpcJsReleaseError['code'], message: string) {
    super(message);
    this.name = 'GrpcJsReleaseError';
    this.code = code;
  }
}

/** A release installed here: its version and the folder of its package (what `useGrpcJsFrom` takes). */
export interface InstalledRelease {
  readonly version: string;
  readonly dir: string;
  /** How it came to be here: from the lockfile (node_modules), the cache, or installed just now. */
  readonly source: 'lockfile' | 'cache' | 'installed';
}

const VERSION = /^(\d+)\.(\d+)\.(\d+)$/;

/** Checks a version given by a user: `X.Y.Z`, 1.x. Throws `GrpcJsReleaseError` (ERR_GRPC_JS_VERSION). */
export function parseRelease(text: string): string {
  const m = VERSION.exec(text.trim());
  if (m?.[1] !== '1') {
    throw new GrpcJsReleaseError(
      'ERR_GRPC_JS_VERSION',
      `"${text}" is not a 1.x release of @grpc/grpc-js (give X.Y.Z, e.g. 1.12.4; supported from ${OLDEST_SUPPORTED})`,
    );
  }
  return text.trim();
}

/** Orders two `X.Y.Z` versions (negative: a is older). */
export function compareReleases(a: string, b: string): number {
  const pa = a.split('.').map(Number);
  const pb = b.split('.').map(Number);
  for (let i = 0; i < 3; i++) {
    const d = (pa[i] ?? 0) - (pb[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

function versionIn(packageDir: string): string | undefined {
  try {
    const pkg = JSON.parse(readFileSync(path.join(packageDir, 'package.json'), 'utf8')) as { name?: string; version?: string };
    return pkg.name === '@grpc/grpc-js' ? pkg.version : undefined;
  } catch {
    return undefined;
  }
}

/** Releases the lockfile installed: `@grpc/grpc-js` itself and the `grpc-js-*` aliases (not the servers' copy). */
export function lockfileReleases(): InstalledRelease[] {
  let names: string[];
  try {
    names = readdirSync(NODE_MODULES).filter((n) => n.startsWith('grpc-js-') && n !== SERVER_ALIAS);
  } catch {
    names = [];
  }
  const dirs = [path.join(NODE_MODULES, '@grpc', 'grpc-js'), ...names.map((n) => path.join(NODE_MODULES, n))];
  return dirs.flatMap((dir) => {
    const version = versionIn(dir);
    return version ? [{ version, dir, source: 'lockfile' as const }] : [];
  });
}

function cachedDir(version: string): string {
  return path.join(releaseCacheDir(), version, 'node_modules', '@grpc', 'grpc-js');
}

/** The release if it is here already (from the lockfile, else from the cache), without installing anything. */
export function findRelease(version: string): InstalledRelease | undefined {
  const fromLockfile = lockfileReleases().find((r) => r.version === version);
  if (fromLockfile) return fromLockfile;
  const dir = cachedDir(version);
  return versionIn(dir) === version ? { version, dir, source: 'cache' } : undefined;
}

function npm(args: string[], cwd: string): Promise<{ stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    execFile('npm', args, { cwd, maxBuffer: 16 * 1024 * 1024 }, (error, stdout, stderr) => {
      if (error) reject(Object.assign(error, { stdout, stderr }));
      else resolve({ stdout, stderr });
    });
  });
}

/** The line of npm's output that says why it failed (`npm error 404 ...`, `notarget ...`). */
function npmReason(error: unknown): string {
  const text = `${(error as { stderr?: string }).stderr ?? ''}`;
  const lines = text
    .split('\n')
    .map((l) => l.replace(/^npm (error|ERR!) ?/, '').trim())
    .filter((l) => l && !/^(code|A complete log|Log files|errno|path|syscall)\b/.test(l));
  return lines.slice(0, 2).join('; ') || (error instanceof Error ? error.message : String(error));
}

/**
 * The release `version`, installed into the cache on first use (`npm install --ignore-scripts`:
 * grpc-js has no install step of its own). Throws `GrpcJsReleaseError` (ERR_GRPC_JS_UNAVAILABLE)
 * naming npm's reason when it cannot be had (no such version, no registry), or when `install` is
 * false and it is not here.
 */
export async function provideRelease(version: string, options: { install?: boolean } = {}): Promise<InstalledRelease> {
  parseRelease(version);
  const found = findRelease(version);
  if (found) return found;
  if (options.install === false) {
    throw new GrpcJsReleaseError(
      'ERR_GRPC_JS_UNAVAILABLE',
      `@grpc/grpc-js ${version} is not installed here (neither from the lockfile nor in ${releaseCacheDir()})`,
    );
  }
  const target = path.join(releaseCacheDir(), version);
  const tmp = `${target}.tmp-${process.pid}-${Date.now()}`;
  await mkdir(tmp, { recursive: true });
  try {
    await npm(
      [
        'install',
        '--prefix',
        tmp,
        '--no-save',
        '--no-package-lock',
        '--ignore-scripts',
        '--no-audit',
        '--no-fund',
        `@grpc/grpc-js@${version}`,
      ],
      tmp,
    );
  } catch (error) {
    await rm(tmp, { recursive: true, force: true });
    throw new GrpcJsReleaseError('ERR_GRPC_JS_UNAVAILABLE', `@grpc/grpc-js ${version} cannot be installed: ${npmReason(error)}`);
  }
  try {
    await rename(tmp, target);
  } catch {
    // Another process installed the same release first: use theirs.
    await rm(tmp, { recursive: true, force: true });
  }
  const installed = findRelease(version);
  if (!installed) {
    throw new GrpcJsReleaseError('ERR_GRPC_JS_UNAVAILABLE', `@grpc/grpc-js ${version}: npm installed something else`);
  }
  return { ...installed, source: 'installed' };
}

/** Every published 1.x release (no pre-releases), oldest first, as the registry lists them. */
export async function publishedReleases(): Promise<string[]> {
  let stdout: string;
  try {
    ({ stdout } = await npm(['view', '@grpc/grpc-js', 'versions', '--json'], ROOT));
  } catch (error) {
    throw new GrpcJsReleaseError('ERR_GRPC_JS_UNAVAILABLE', `cannot list @grpc/grpc-js releases: ${npmReason(error)}`);
  }
  const all = JSON.parse(stdout) as string[] | string;
  return (Array.isArray(all) ? all : [all]).filter((v) => VERSION.test(v) && v.startsWith('1.')).sort(compareReleases);
}

/** The newest patch of every minor in `releases` from `from` on, oldest minor first. */
export function newestPatches(releases: readonly string[], from = OLDEST_SUPPORTED): string[] {
  const byMinor = new Map<string, string>();
  for (const v of releases) {
    if (compareReleases(v, from) < 0) continue;
    const minor = v.split('.').slice(0, 2).join('.');
    const held = byMinor.get(minor);
    if (!held || compareReleases(v, held) > 0) byMinor.set(minor, v);
  }
  return [...byMinor.values()].sort(compareReleases);
}

/** The releases from `a` to `b`, both included, oldest first. */
export function releasesBetween(releases: readonly string[], a: string, b: string): string[] {
  const [lo, hi] = compareReleases(a, b) <= 0 ? [a, b] : [b, a];
  return releases.filter((v) => compareReleases(v, lo) >= 0 && compareReleases(v, hi) <= 0).sort(compareReleases);
}
