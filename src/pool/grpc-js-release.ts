import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';

/** The @grpc/grpc-js module as the client stack uses it (typed by the release in package.json). */
export type GrpcJs = typeof import('@grpc/grpc-js');

/**
 * Environment variable naming the directory of the @grpc/grpc-js package the client stack loads
 * (the folder holding its package.json). Unset: the `@grpc/grpc-js` of package.json. Read at the
 * first use, and inherited by child processes (the property workers), so that every process of
 * a run loads the same release.
 */
export const GRPC_JS_DIR_ENV = 'GRPC_POOL_GRPC_JS_DIR';

const localRequire = createRequire(import.meta.url);

interface Loaded {
  readonly dir: string;
  readonly grpc: GrpcJs;
  readonly version: string;
}

let loaded: Loaded | undefined;

/** The directory of the release asked for (the environment), or of the default one. */
function chosenDir(): string {
  const dir = process.env[GRPC_JS_DIR_ENV];
  if (dir) return path.resolve(dir);
  return path.dirname(localRequire.resolve('@grpc/grpc-js/package.json'));
}

function load(): Loaded {
  if (loaded) return loaded;
  const dir = chosenDir();
  const version = (JSON.parse(readFileSync(path.join(dir, 'package.json'), 'utf8')) as { version: string }).version;
  // A plain require of the package folder: its own dependencies resolve from where it is installed.
  loaded = { dir, version, grpc: localRequire(dir) as GrpcJs };
  return loaded;
}

/**
 * The @grpc/grpc-js the client stack (pool, connector, client) runs on in this process: the
 * release `GRPC_POOL_GRPC_JS_DIR` names, else the one package.json pins. Loaded once, on first use.
 * The test servers and the fault proxy never use it: they run on their own pinned copy.
 */
export function grpcJs(): GrpcJs {
  return load().grpc;
}

/** The version of the release `grpcJs()` loads (e.g. `1.8.0`), as its package.json says. */
export function grpcJsRelease(): string {
  return load().version;
}

/**
 * Makes this process (and the processes it starts from now on) run the client stack on the
 * @grpc/grpc-js installed in `dir`. Must come before the first `grpcJs()`: one process holds one
 * release, and switching afterwards would mix channels of two releases.
 */
export function useGrpcJsFrom(dir: string): void {
  const wanted = path.resolve(dir);
  if (loaded && loaded.dir !== wanted) {
    throw new Error(`@grpc/grpc-js ${loaded.version} is already loaded from ${loaded.dir}; cannot switch to ${wanted}`);
  }
  process.env[GRPC_JS_DIR_ENV] = wanted;
}

/**
 * The APIs of @grpc/grpc-js the client stack calls, as `path: value` read from a loaded module.
 * Every 1.x release from 1.8.0 on has them all; what else differs between releases (the shape of
 * the subchannel internals the connector reads) is handled where it is read.
 */
function clientApis(grpc: GrpcJs): Record<string, unknown> {
  return {
    makeClientConstructor: grpc.makeClientConstructor,
    'credentials.createInsecure': grpc.credentials?.createInsecure,
    Metadata: grpc.Metadata,
    'connectivityState.CONNECTING': grpc.connectivityState?.CONNECTING,
    'Client.prototype.getChannel': grpc.Client?.prototype?.getChannel,
    'Client.prototype.close': grpc.Client?.prototype?.close,
    'Channel.prototype.getConnectivityState': grpc.Channel?.prototype?.getConnectivityState,
    'Channel.prototype.watchConnectivityState': grpc.Channel?.prototype?.watchConnectivityState,
  };
}

/** The client stack's APIs that the loaded release lacks (empty: it can run the stack). */
export function missingClientApis(grpc: GrpcJs = grpcJs()): string[] {
  return Object.entries(clientApis(grpc))
    .filter(([, value]) => value === undefined || value === null)
    .map(([name]) => name);
}

/** Throws, naming the release and what it lacks, if the client stack cannot run on the loaded release. */
export function assertClientApis(): void {
  const missing = missingClientApis();
  if (missing.length > 0) {
    throw new Error(`@grpc/grpc-js ${grpcJsRelease()} (${load().dir}) lacks ${missing.join(', ')}, which the client stack calls`);
  }
}
