import { mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  compareReleases,
  findRelease,
  GrpcJsReleaseError,
  lockfileReleases,
  newestPatches,
  parseRelease,
  provideRelease,
  releasesBetween,
} from './grpc-js-releases.js';

describe('release versions', () => {
  it('takes X.Y.Z of 1.x only, with a message that names the form', () => {
    expect(parseRelease(' 1.8.0 ')).toBe('1.8.0');
    for (const bad of ['1.8', 'v1.8.0', '2.0.0', '1.8.0-pre1', 'latest', '']) {
      expect(() => parseRelease(bad)).toThrow(/is not a 1\.x release of @grpc\/grpc-js \(give X\.Y\.Z/);
    }
  });

  it('orders releases by number, not by text', () => {
    expect(['1.10.0', '1.9.16', '1.8.22', '1.12.4', '1.12.10'].sort(compareReleases)).toEqual([
      '1.8.22',
      '1.9.16',
      '1.10.0',
      '1.12.4',
      '1.12.10',
    ]);
  });

  it('picks the newest patch of every minor from 1.8 on, and the releases between two', () => {
    const published = ['1.7.3', '1.8.0', '1.8.22', '1.8.3', '1.9.0', '1.10.11', '1.10.2', '1.12.2', '1.12.3', '1.12.4'];
    expect(newestPatches(published)).toEqual(['1.8.22', '1.9.0', '1.10.11', '1.12.4']);
    expect(releasesBetween(published, '1.12.4', '1.10.11')).toEqual(['1.10.11', '1.12.2', '1.12.3', '1.12.4']);
  });
});

describe('releases installed from the lockfile', () => {
  const saved = process.env.GRPC_POOL_PROPS_CACHE;
  afterEach(() => {
    if (saved === undefined) delete process.env.GRPC_POOL_PROPS_CACHE;
    else process.env.GRPC_POOL_PROPS_CACHE = saved;
  });

  it("holds the tests' old releases and the default, never the servers' own copy", () => {
    const found = lockfileReleases();
    const versions = found.map((r) => r.version);
    expect(versions).toEqual(expect.arrayContaining(['1.8.0', '1.12.2', '1.12.4']));
    const defaultVersion = (createRequire(import.meta.url)('@grpc/grpc-js/package.json') as { version: string }).version;
    expect(versions).toContain(defaultVersion);
    expect(found.some((r) => r.dir.includes('grpc-js-server'))).toBe(false);
    expect(findRelease('1.8.0')).toMatchObject({ version: '1.8.0', source: 'lockfile' });
  });

  it('without installing, a release that is not here is ERR_GRPC_JS_UNAVAILABLE naming where it looked', async () => {
    const cache = await mkdtemp(path.join(tmpdir(), 'grpc-js-cache-'));
    process.env.GRPC_POOL_PROPS_CACHE = cache;
    try {
      const error = await provideRelease('1.9.99', { install: false }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(GrpcJsReleaseError);
      expect(error).toMatchObject({ code: 'ERR_GRPC_JS_UNAVAILABLE' });
      expect((error as Error).message).toContain(cache);
      await expect(provideRelease('1.8.0', { install: false })).resolves.toMatchObject({ source: 'lockfile' });
    } finally {
      await rm(cache, { recursive: true, force: true });
    }
  });
});
