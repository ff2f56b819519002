import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startCli } from './run-cli.js';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'self-check-cli-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

interface LayerVerdict {
  caught: boolean;
  runs: number | null;
  counterexample: string[] | null;
}

interface Verdict {
  name: string;
  layers: Record<string, LayerVerdict>;
}

describe('npm run self-check', () => {
  it('a cap spent before the first run never counts as caught (issue 14.1)', async () => {
    const json = path.join(dir, 'tiny-cap.json');
    const md = path.join(dir, 'tiny-cap.md');
    const r = await runCli('self-check', [
      '--cap',
      '1ms',
      '--variant',
      'lock-per-call',
      '--seed',
      '1',
      '--json',
      json,
      '--markdown',
      md,
    ]);
    const { variants } = JSON.parse(await readFile(json, 'utf8')) as { variants: Verdict[] };
    expect(variants).toHaveLength(1);
    // Caught only by a run that failed; with no run at all it is missed, not "caught after 0 runs".
    const layers = variants.flatMap((v) => Object.values(v.layers));
    expect(layers.length).toBeGreaterThan(0);
    for (const l of layers) {
      if (l.caught) {
        expect(l.runs).toBeGreaterThan(0);
        expect(l.counterexample?.length).toBeGreaterThan(0);
      }
    }
    expect([0, 1]).toContain(r.code);
    // The catalogue table: a header, a rule and the one variant's row.
    const table = (await readFile(md, 'utf8')).trimEnd().split('\n');
    expect(table).toHaveLength(3);
    expect(table[2]).toMatch(/^\| lock-per-call +\| creation race +\| /);
    // A layer with nothing caught has no median to print (it printed "NaN s").
    expect(r.stdout).not.toMatch(/NaN/);
    for (const l of ['simulated', 'live'] as const) {
      if (!variants.some((v) => v.layers[l]?.caught))
        expect(r.stdout).toMatch(new RegExp(`${l}: .*median time to first failure none`));
    }
  });

  it('stdout closed (piped into head): exits 141 quietly (issue 14.3)', async () => {
    // Simulated only, one process: its next line (after the first variant) comes within a second
    // or two, and writing it is what meets the closed pipe.
    const { child, exited, stderr } = startCli('self-check', ['--cap', '3s', '--layer', 'simulated', '--workers', '1']);
    await new Promise((resolve) => child.stdout?.once('data', resolve));
    child.stdout?.destroy();
    expect(await exited).toBe(141);
    expect(stderr()).not.toMatch(/EPIPE|\n\s+at /);
  });

  it('--seed takes a negative number (issue 14.5)', async () => {
    const r = await runCli('self-check', [
      ...['--seed', '-3', '--cap', '1s', '--variant', 'leak-on-remove'],
      ...['--layer', 'simulated', '--workers', '1'],
    ]);
    expect(r.stderr).toBe('');
    expect(r.stdout).toMatch(/^self-check: 1 variant\(s\), cap 1 s each, seed -3$/m);
    // Caught or missed within 1 s on a loaded machine: either way not a usage error.
    expect([0, 1]).toContain(r.code);
  });
});
