import { createRequire } from 'node:module';
import {
  compareReleases,
  findRelease,
  GrpcJsReleaseError,
  OLDEST_SUPPORTED,
  parseRelease,
  provideRelease,
  releaseCacheDir,
} from '../harness/grpc-js-releases.js';
import { grpcJsRelease, missingClientApis, useGrpcJsFrom } from '../pool/grpc-js-release.js';
import { EnvironmentError, UsageError } from './cli-errors.js';

/** The `--grpc-js` line of a CLI's help. */
export const GRPC_JS_HELP = `  --grpc-js VERSION            run the client stack (pool, connector, client) on this
                               @grpc/grpc-js release, e.g. 1.8.0 (default: the one package.json
                               pins); the test servers keep their own pinned copy. Installed on
                               first use into ${releaseCacheDir()}
                               (exit 3 if it cannot be had)`;

/** The release the test servers and the fault proxy run on (the `grpc-js-server` alias). */
export function serverGrpcJsRelease(): string {
  return (createRequire(import.meta.url)('grpc-js-server/package.json') as { version: string }).version;
}

/**
 * Makes this process, and every worker it starts from now on, run the client stack on the release
 * `--grpc-js` names: found installed (from the lockfile or the cache) or installed now. Returns the
 * release in use (the default one without the flag). A version that is not X.Y.Z is bad usage
 * (exit 2); one that cannot be installed, or lacks an API the client stack calls, is the
 * environment (exit 3). Call before anything loads the client's grpc-js.
 */
export async function selectGrpcJs(asked: string | undefined): Promise<string> {
  if (asked === undefined) return grpcJsRelease();
  let version: string;
  try {
    version = parseRelease(asked);
  } catch (error) {
    throw new UsageError(`--grpc-js: ${(error as Error).message}`);
  }
  if (!findRelease(version)) process.stderr.write(`installing @grpc/grpc-js ${version} into ${releaseCacheDir()} (first use)\n`);
  let dir: string;
  try {
    ({ dir } = await provideRelease(version));
  } catch (error) {
    if (error instanceof GrpcJsReleaseError) throw new EnvironmentError(`--grpc-js: ${error.message}`);
    throw error;
  }
  useGrpcJsFrom(dir);
  const missing = missingClientApis();
  if (missing.length > 0) {
    throw new EnvironmentError(
      `--grpc-js: @grpc/grpc-js ${version} lacks ${missing.join(', ')}, which the client stack calls (nothing was checked)`,
    );
  }
  if (compareReleases(version, OLDEST_SUPPORTED) < 0) {
    process.stderr.write(
      `warning: @grpc/grpc-js ${version} is older than ${OLDEST_SUPPORTED}, the oldest release the connector is known to read correctly; a failure may be about the harness\n`,
    );
  }
  return grpcJsRelease();
}

/** The words a CLI's first line uses for the releases in play: `grpc-js 1.8.0 (servers 1.14.7)`. */
export function releasesLine(client: string): string {
  return `grpc-js ${client} (servers ${serverGrpcJsRelease()})`;
}
