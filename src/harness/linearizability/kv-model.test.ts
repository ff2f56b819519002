import { readFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkOperations } from './check-operations.js';
import { type KvOperation, kvModel } from './kv-model.js';
import type { LinearizabilityModel } from './model.js';
import { parsePorcupineKvLog } from './porcupine-kv.js';

const KV = fileURLToPath(new URL('../../../test-data/porcupine-kv/', import.meta.url));

describe('kvModel', () => {
  it('gets what was put and appended, and nothing else', () => {
    const s = kvModel.step(kvModel.init(), { kind: 'put', key: 'k', value: 'a' }, { kind: 'put' });
    expect(s).toBe('a');
    expect(kvModel.step('a', { kind: 'append', key: 'k', value: 'b' }, { kind: 'append' })).toBe('ab');
    expect(kvModel.step('ab', { kind: 'get', key: 'k' }, { kind: 'get', value: 'ab' })).toBe('ab');
    expect(kvModel.step('ab', { kind: 'get', key: 'k' }, { kind: 'get', value: 'a' })).toBeUndefined();
    expect(kvModel.step('', { kind: 'get', key: 'k' }, { kind: 'get', value: '' })).toBe('');
    // Unknown outcomes: a get answers anything, a put or append takes effect.
    expect(kvModel.step('x', { kind: 'get', key: 'k' }, undefined)).toBe('x');
    expect(kvModel.step('x', { kind: 'append', key: 'k', value: 'y' }, undefined)).toBe('xy');
    // An answer of the wrong kind is illegal.
    expect(kvModel.step('x', { kind: 'put', key: 'k', value: 'y' }, { kind: 'get', value: 'x' })).toBeUndefined();
  });

  it('splits by key, in key order, labelled by key', () => {
    const op = (id: number, key: string): KvOperation => ({
      id,
      client: 'c',
      input: { kind: 'get', key },
      output: undefined,
      call: id,
      ret: id,
    });
    const parts = kvModel.partition?.([op(0, 'b'), op(1, 'a'), op(2, 'b')]) ?? [];
    expect(parts.map((p) => p.map((o) => o.id))).toEqual([[1], [0, 2]]);
    expect(parts.map((p) => kvModel.partitionLabel?.(p))).toEqual(['a', 'b']);
    expect(kvModel.describeOperation?.({ kind: 'append', key: 'k', value: 'v' }, { kind: 'append' })).toBe(
      'append("k", "v") -> ok',
    );
  });
});

// Verdicts and sizes from test-data/porcupine-kv/README.md (Porcupine's own tests assert the verdicts).
const HISTORIES = [
  ['c01-ok', 58, 'linearizable'],
  ['c01-bad', 38, 'not-linearizable'],
  ['c10-ok', 337, 'linearizable'],
  ['c10-bad', 405, 'not-linearizable'],
  ['c50-ok', 1712, 'linearizable'],
  ['c50-bad', 2024, 'not-linearizable'],
] as const;

// The same model with its parts handed over in reverse key order.
const reversed: LinearizabilityModel<string, KvOperation['input'], NonNullable<KvOperation['output']>> = {
  ...kvModel,
  partition: (ops) => (kvModel.partition?.(ops) ?? [[...ops]]).reverse(),
};

describe("Porcupine's six key-value histories, at default options", () => {
  it.each(HISTORIES)('%s (%i operations): %s, in either key order, in seconds at most', async (name, size, expected) => {
    const text = await readFile(`${KV}${name}.txt`, 'utf8');
    const ops = parsePorcupineKvLog(text, `${name}.txt`);
    expect(ops).toHaveLength(size);
    // The keys as the file names them, read apart from the parser.
    const keys = [...new Set([...text.matchAll(/:key "([^"]*)"/g)].map((m) => m[1]))].sort();
    for (const [order, model] of [
      ['forward', kvModel],
      ['reversed', reversed],
    ] as const) {
      const start = performance.now();
      const report = checkOperations(model, ops);
      const ms = performance.now() - start;
      expect(report.result, order).toBe(expected);
      // Idle, the slowest (c50-ok) takes about 0.15-0.3 s (npm run bench prints it beside
      // Porcupine's); this bound is for a loaded 2-core machine, and still fails the checker that
      // searched every part to the end (c50-bad: 60 s, then a RangeError).
      expect(ms, `${name} ${order} took ${ms.toFixed(0)} ms`).toBeLessThan(10_000);
      const labels = report.partitions.map((p) => p.label);
      expect(labels).toEqual(order === 'forward' ? keys : [...keys].reverse());
      expect(report.partitions.reduce((n, p) => n + p.ops, 0)).toBe(size);
      if (expected === 'linearizable') {
        expect(report.partitions.every((p) => p.result === 'linearizable')).toBe(true);
      } else {
        // One illegal part decided it; the search stopped there, so no part is left unknown.
        expect(report.partitions.filter((p) => p.result === 'not-linearizable')).toHaveLength(1);
        expect(report.partitions.some((p) => p.result === 'unknown')).toBe(false);
      }
    }
  });

  it('c50-bad stops early: the parts not yet decided are not-checked', async () => {
    const ops = parsePorcupineKvLog(await readFile(`${KV}c50-bad.txt`, 'utf8'), 'c50-bad.txt');
    const report = checkOperations(kvModel, ops);
    const bad = report.partitions.find((p) => p.result === 'not-linearizable');
    expect(bad?.stuck?.opIds.length).toBeGreaterThan(0);
    expect(bad?.stuck?.state).toMatch(/^value "/);
    expect(report.partitions.filter((p) => p.result === 'not-checked').length).toBeGreaterThan(0);
  });
});
