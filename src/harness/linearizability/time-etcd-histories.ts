import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { casRegisterModel } from './cas-register-model.js';
import { checkOperations } from './check-operations.js';
import { parseJepsenRegisterLog } from './jepsen-register.js';

/** What `timeEtcdHistories` measured: how many verdicts match `verdicts.tsv`, and the time spent. */
export interface EtcdTiming {
  readonly files: number;
  readonly agree: number;
  /** Parsing plus checking of all histories, files already in memory. */
  readonly totalMs: number;
  readonly perFileMs: Record<string, number>;
  /** The logs whose verdict differs from the expected one (or that have none). */
  readonly disagreements: string[];
}

/** Reads `verdicts.tsv` (`log<TAB>true|false` after a header) into a map from log name to verdict. */
export async function readEtcdVerdicts(dir: string): Promise<Map<string, boolean>> {
  const text = await readFile(path.join(dir, 'verdicts.tsv'), 'utf8');
  const verdicts = new Map<string, boolean>();
  for (const line of text.split('\n').slice(1)) {
    const [name, verdict] = line.trim().split(/\s+/);
    if (name && (verdict === 'true' || verdict === 'false')) verdicts.set(name, verdict === 'true');
  }
  return verdicts;
}

/**
 * Checks every `logs/*.log` under `dir` (the porcupine-etcd folder) against the CAS-register model and
 * compares each verdict with `verdicts.tsv`. Files are read first so that the timing is CPU only.
 */
export async function timeEtcdHistories(dir: string): Promise<EtcdTiming> {
  const verdicts = await readEtcdVerdicts(dir);
  const names = (await readdir(path.join(dir, 'logs'))).filter((n) => n.endsWith('.log')).sort();
  const texts = await Promise.all(names.map((n) => readFile(path.join(dir, 'logs', n), 'utf8')));
  const perFileMs: Record<string, number> = {};
  const disagreements: string[] = [];
  let totalMs = 0;
  names.forEach((name, i) => {
    const start = performance.now();
    const report = checkOperations(casRegisterModel, parseJepsenRegisterLog(texts[i] as string, name));
    const ms = performance.now() - start;
    perFileMs[name] = ms;
    totalMs += ms;
    if (verdicts.get(name) !== (report.result === 'linearizable')) disagreements.push(name);
  });
  return { files: names.length, agree: names.length - disagreements.length, totalMs, perFileMs, disagreements };
}
