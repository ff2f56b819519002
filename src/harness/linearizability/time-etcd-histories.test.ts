import { access, readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { casRegisterModel } from './cas-register-model.js';
import { checkOperations } from './check-operations.js';
import { parseJepsenRegisterLog } from './jepsen-register.js';
import { readEtcdVerdicts, timeEtcdHistories } from './time-etcd-histories.js';

// Vendored with the repository (MIT, see its LICENSE.md), so a clone alone runs this test.
const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const ETCD = path.join(ROOT, 'test-data', 'porcupine-etcd');

async function requireEtcdData(): Promise<void> {
  try {
    await access(path.join(ETCD, 'verdicts.tsv'));
  } catch {
    throw new Error(
      `The Jepsen etcd histories are missing: expected ${ETCD}/verdicts.tsv and logs/. ` +
        'They are part of the repository (test-data/porcupine-etcd): restore them with git checkout.',
    );
  }
}

describe('the 102 Jepsen etcd histories distributed with Porcupine', () => {
  it('every verdict matches verdicts.tsv', async () => {
    await requireEtcdData();
    const verdicts = await readEtcdVerdicts(ETCD);
    const logs = (await readdir(path.join(ETCD, 'logs'))).filter((n) => n.endsWith('.log'));
    expect(logs).toHaveLength(102);
    expect([...verdicts.values()].filter(Boolean)).toHaveLength(23);
    const timing = await timeEtcdHistories(ETCD);
    expect(timing.disagreements).toEqual([]);
    expect(timing.agree).toBe(102);
    // Informational: compare with Porcupine's ~0.32 s (Go) on a similar machine.
    console.log(`checked ${timing.files} etcd histories in ${timing.totalMs.toFixed(0)} ms`);
  });

  it('names where an illegal history gets stuck', async () => {
    await requireEtcdData();
    const text = await readFile(path.join(ETCD, 'logs', 'etcd_000.log'), 'utf8');
    const ops = parseJepsenRegisterLog(text, 'etcd_000.log');
    const report = checkOperations(casRegisterModel, ops);
    expect(report.result).toBe('not-linearizable');
    const part = report.partitions[0];
    expect(part?.longestPrefix.length).toBeGreaterThan(0);
    expect(part?.stuck?.opIds.length).toBeGreaterThan(0);
    expect(part?.stuck?.state).toMatch(/^value /);
  });
});
