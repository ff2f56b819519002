import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BrokenVariant } from '../variants/index.js';
import { variantAdapter } from '../variants/index.js';
import { AdapterError, type PoolAdapter, validateAdapter } from './adapter.js';
import { channelMapAdapter } from './adapters/channel-map.js';
import { ownAdapter } from './adapters/own-pool.js';

/** The adapters `--pool NAME` knows, by name, each loaded when asked for. */
export const BUILT_IN_ADAPTERS: Readonly<Record<string, () => Promise<PoolAdapter>>> = {
  own: async () => ownAdapter,
  'channel-map': async () => channelMapAdapter,
  'firestore-client-pool': async () =>
    (await import('./adapters/firestore-client-pool.js')).firestoreClientPoolAdapter as PoolAdapter,
};

export const DEFAULT_POOL = 'own';

/** Whether `spec` names a file or module rather than a built-in adapter. */
function isModuleSpec(spec: string): boolean {
  return spec.startsWith('.') || spec.startsWith('/') || spec.endsWith('.ts') || spec.endsWith('.js') || spec.endsWith('.mjs');
}

/**
 * What `--pool` means, resolved once where it is given: a built-in name stays a name; a path
 * becomes absolute (from `cwd`), so worker processes and failure files find the same file.
 */
export function resolvePoolSpec(spec: string, cwd = process.cwd()): string {
  if (!isModuleSpec(spec)) {
    if (!(spec in BUILT_IN_ADAPTERS)) {
      throw new AdapterError(
        `--pool ${spec}: no such adapter. Built in: ${Object.keys(BUILT_IN_ADAPTERS).join(', ')}; or give a path to your adapter file (./my-adapter.ts)`,
      );
    }
    return spec;
  }
  return spec.startsWith('.') || !path.isAbsolute(spec) ? path.resolve(cwd, spec) : spec;
}

const cache = new Map<string, Promise<PoolAdapter>>();

/** Loads the adapter `spec` names (a built-in name, or a resolved path or module); throws `AdapterError`. */
export function loadAdapter(spec: string): Promise<PoolAdapter> {
  let p = cache.get(spec);
  if (!p) {
    p = load(spec);
    cache.set(spec, p);
    p.catch(() => cache.delete(spec));
  }
  return p;
}

async function load(spec: string): Promise<PoolAdapter> {
  const builtIn = BUILT_IN_ADAPTERS[spec];
  if (builtIn) return builtIn();
  let url: string;
  try {
    if (path.isAbsolute(spec)) {
      if (!existsSync(spec)) throw new Error('absent');
      url = pathToFileURL(spec).href;
    } else {
      url = pathToFileURL(createRequire(path.join(process.cwd(), 'package.json')).resolve(spec)).href;
    }
  } catch {
    throw new AdapterError(`--pool ${spec}: no such file or module`);
  }
  let module: Record<string, unknown>;
  try {
    module = (await import(url)) as Record<string, unknown>;
  } catch (error) {
    throw new AdapterError(`--pool ${spec}: could not load it: ${error instanceof Error ? error.message : String(error)}`);
  }
  const exported = module.default ?? module.adapter;
  return validateAdapter(exported, spec);
}

/** The adapter a check runs on: a broken variant's (this project's pool, patched), or `--pool`'s (default `own`). */
export async function adapterFor(c: { readonly pool?: string; readonly variant?: BrokenVariant }): Promise<PoolAdapter> {
  if (c.variant) {
    if (c.pool !== undefined && c.pool !== DEFAULT_POOL) {
      throw new AdapterError(`--variant ${c.variant.name} patches this project's pool: it cannot run with --pool ${c.pool}`);
    }
    return variantAdapter(c.variant);
  }
  return loadAdapter(c.pool ?? DEFAULT_POOL);
}
