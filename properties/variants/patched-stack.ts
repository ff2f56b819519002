import { createHash } from 'node:crypto';
import { cp, mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import type { PoolClient, PoolClientOptions } from '../../src/client/pool-client.js';
import type { LoadTestMetrics } from '../../src/metrics/load-test-metrics.js';
import type { ConnectionPool, ConnectionPoolOptions } from '../../src/pool/connection-pool.js';
import type { GrpcConnector } from '../../src/pool/grpc-connector.js';
import type { PoolAdapter } from '../adapter/adapter.js';
import { ownPoolAdapter } from '../adapter/adapters/own-pool.js';

/**
 * One textual change to a file of `src/`: the bug as a developer would have typed it. `find` must
 * occur exactly once in the current source, so a variant that no longer applies says so at once
 * instead of silently testing the real code.
 */
export interface SourcePatch {
  /** Path under `src/`, e.g. `pool/connection-pool.ts`. */
  readonly file: string;
  readonly find: string;
  readonly replace: string;
}

/** A variant's patch no longer applies to the current source (the code it changes was rewritten). */
export class VariantPatchError extends Error {
  readonly code = 'ERR_VARIANT_PATCH';
  constructor(variant: string, file: string, why: string) {
    super(`variant ${variant}: its patch to src/${file} no longer applies (${why}); update the patch to the current code`);
    this.name = 'VariantPatchError';
  }
}

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Patched copies live inside the project so that their imports of node_modules resolve. */
const VARIANTS_DIR = path.join(ROOT, '.variants');

/** Applies `patches` to the sources they name; returns the patched texts by file. */
export async function applyPatches(variant: string, patches: readonly SourcePatch[]): Promise<Map<string, string>> {
  const texts = new Map<string, string>();
  for (const p of patches) {
    const before = texts.get(p.file) ?? (await readFile(path.join(ROOT, 'src', p.file), 'utf8'));
    const first = before.indexOf(p.find);
    if (first < 0) throw new VariantPatchError(variant, p.file, `text not found: ${JSON.stringify(p.find.slice(0, 80))}`);
    if (before.indexOf(p.find, first + 1) >= 0) {
      throw new VariantPatchError(variant, p.file, `text occurs more than once: ${JSON.stringify(p.find.slice(0, 80))}`);
    }
    texts.set(p.file, before.slice(0, first) + p.replace + before.slice(first + p.find.length));
  }
  return texts;
}

const loaded = new Map<string, Promise<PoolAdapter>>();

/**
 * The real stack built from a copy of `src/` with `patches` applied: the pool, client, key and
 * metrics code the variant's bug lives in, everything else as it is. The copy is keyed by a hash
 * of the patched text, made once (atomically, so parallel test processes can share it) and reused.
 */
export function loadPatchedStack(variant: string, patches: readonly SourcePatch[]): Promise<PoolAdapter> {
  let stack = loaded.get(variant);
  if (!stack) {
    stack = build(variant, patches);
    loaded.set(variant, stack);
    stack.catch(() => loaded.delete(variant));
  }
  return stack;
}

/**
 * The directory of a copy of `src/` (and `proto/`) with `patches` applied, made once and reused:
 * import any module of the patched stack from `DIR/src/...` (e.g. a broken `TestEnvironment`).
 */
export async function patchedSourceDir(variant: string, patches: readonly SourcePatch[]): Promise<string> {
  const texts = await applyPatches(variant, patches);
  // The copy is named by everything in it, so that a change anywhere in src/ makes a new one.
  const hash = createHash('sha256');
  for (const file of await sourceFiles())
    hash
      .update(file)
      .update('\0')
      .update(texts.get(file) ?? (await readFile(path.join(ROOT, 'src', file))));
  const dir = path.join(VARIANTS_DIR, `${variant}-${hash.digest('hex').slice(0, 12)}`);
  if (!(await exists(path.join(dir, 'ready')))) {
    const tmp = `${dir}.tmp-${process.pid}-${Date.now()}`;
    await mkdir(tmp, { recursive: true });
    await cp(path.join(ROOT, 'src'), path.join(tmp, 'src'), {
      recursive: true,
      filter: (source) => !source.endsWith('.test.ts'),
    });
    await cp(path.join(ROOT, 'proto'), path.join(tmp, 'proto'), { recursive: true });
    for (const [file, text] of texts) await writeFile(path.join(tmp, 'src', file), text);
    await writeFile(path.join(tmp, 'ready'), variant);
    try {
      await rename(tmp, dir);
    } catch {
      // Another process made the same copy first: use theirs.
      await rm(tmp, { recursive: true, force: true });
    }
  }
  return dir;
}

async function build(variant: string, patches: readonly SourcePatch[]): Promise<PoolAdapter> {
  const dir = await patchedSourceDir(variant, patches);
  const poolModule = (await import(pathToFileURL(path.join(dir, 'src/pool/connection-pool.ts')).href)) as {
    ConnectionPool: new (o: ConnectionPoolOptions) => ConnectionPool;
  };
  const clientModule = (await import(pathToFileURL(path.join(dir, 'src/client/pool-client.ts')).href)) as {
    PoolClient: new (a: string, o: PoolClientOptions) => PoolClient;
  };
  const connectorModule = (await import(pathToFileURL(path.join(dir, 'src/pool/grpc-connector.ts')).href)) as {
    GrpcConnector: typeof GrpcConnector;
  };
  const metricsModule = (await import(pathToFileURL(path.join(dir, 'src/metrics/load-test-metrics.ts')).href)) as {
    LoadTestMetrics: typeof LoadTestMetrics;
  };
  const load = async <T>(file: string) => (await import(pathToFileURL(path.join(dir, 'src/load', file)).href)) as T;
  const shapes = await load<typeof import('../../src/load/shapes.js')>('shapes.ts');
  const { runClosedLoop } = await load<typeof import('../../src/load/closed-loop.js')>('closed-loop.ts');
  const { runFixedRate } = await load<typeof import('../../src/load/fixed-rate.js')>('fixed-rate.ts');
  return ownPoolAdapter(
    {
      ConnectionPool: poolModule.ConnectionPool,
      PoolClient: clientModule.PoolClient,
      GrpcConnector: connectorModule.GrpcConnector,
      LoadTestMetrics: metricsModule.LoadTestMetrics,
      loadRunners: {
        closedLoop: runClosedLoop,
        fixedRate: runFixedRate,
        bursts: shapes.runBursts,
        ramp: shapes.runRamp,
        spike: shapes.runSpike,
      },
    },
    `own+${variant}`,
  );
}

/** Every file under `src/` that goes into a copy, relative to `src/`, sorted. */
async function sourceFiles(): Promise<string[]> {
  const entries = await readdir(path.join(ROOT, 'src'), { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile() && !e.name.endsWith('.test.ts'))
    .map((e) => path.relative(path.join(ROOT, 'src'), path.join(e.parentPath, e.name)))
    .sort();
}

async function exists(p: string): Promise<boolean> {
  try {
    await stat(p);
    return true;
  } catch {
    return false;
  }
}
