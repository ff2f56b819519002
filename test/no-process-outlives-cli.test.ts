import { randomUUID } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type StartedCli, startCli } from './run-cli.js';

// A CLI that has printed its report must end, and take every process it started with it, however
// it ends: on its own, on SIGTERM, or killed outright (SIGKILL: no cleanup of its own runs). Its
// worker processes run in process groups of their own (a terminal's Ctrl-C must not reach them),
// so a worker that does not exit on its own outlives everything, out of reach of the terminal.
// (Reported once: a fuzz process at full CPU for 25 minutes after its report.)
//
// Processes are found by what the OS says, not by the CLI's own bookkeeping: every process that
// carries this test's marker in its environment (/proc/PID/environ; workers inherit it), which
// still finds a worker once its parent is gone and it has been re-parented.

const MARKER = 'GRPC_POOL_PROPS_PROCESS_MARKER';
/** Generous for a loaded 2-core machine: a clean exit takes well under a second. */
const EXIT_BOUND_MS = 15_000;

interface Marked {
  readonly pid: number;
  readonly command: string;
  /** CPU time used so far (user + system), in clock ticks. */
  readonly cpuTicks: number;
}

/** Live (not zombie) processes whose environment holds `MARKER=token`. */
async function markedProcesses(token: string): Promise<Marked[]> {
  const found: Marked[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const environ = await readFile(`/proc/${entry}/environ`, 'utf8').catch(() => '');
    if (!environ.split('\0').includes(`${MARKER}=${token}`)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // Fields after the command's closing parenthesis: state is the 1st, utime and stime the 12th and 13th.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields.length < 13 || fields[0] === 'Z' || fields[0] === 'X') continue;
    const command = (await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')).split('\0').join(' ').trim();
    found.push({ pid: Number(entry), command, cpuTicks: Number(fields[11]) + Number(fields[12]) });
  }
  return found;
}

/** Resolves once `check` holds, looking every 100 ms; throws `describe()` after `timeoutMs`. */
async function until(check: () => Promise<boolean>, timeoutMs: number, describe: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(await describe());
    // /proc says nothing when a process appears or goes: look again.
    await new Promise((r) => setTimeout(r, 100));
  }
}

const workersOf = async (token: string) => (await markedProcesses(token)).filter((p) => p.command.includes('check-worker.ts'));

/** Asserts that the CLI exits within the bound, then that nothing it started is left. */
async function expectNothingLeft(run: StartedCli, token: string, since: number): Promise<number | null> {
  const code = await Promise.race([
    run.exited,
    new Promise<'still running'>((r) => setTimeout(() => r('still running'), EXIT_BOUND_MS).unref()),
  ]);
  const left = async () =>
    `still running ${((Date.now() - since) / 1000).toFixed(1)} s later:\n${(await markedProcesses(token))
      .map((p) => `  ${p.pid} (cpu ${p.cpuTicks} ticks) ${p.command}`)
      .join('\n')}`;
  if (code === 'still running') throw new Error(`the CLI did not exit; ${await left()}`);
  await until(async () => (await markedProcesses(token)).length === 0, EXIT_BOUND_MS, left);
  return code;
}

let dir: string;
const started: Array<{ run: StartedCli; token: string }> = [];
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'outlives-'));
});
// A failed test leaves its processes behind: end them here, by the pids the marker finds.
afterEach(async () => {
  for (const { run, token } of started.splice(0)) {
    for (const p of await markedProcesses(token)) {
      try {
        process.kill(p.pid, 'SIGKILL');
      } catch {
        // Gone meanwhile.
      }
    }
    await run.exited;
  }
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function start(name: string, args: string[]): { run: StartedCli; token: string } {
  const token = randomUUID();
  const run = startCli(name, args, { [MARKER]: token });
  started.push({ run, token });
  return { run, token };
}

describe('no process outlives a CLI', () => {
  it.each([
    ['fuzz on two workers', 'fuzz', ['--time', '3s', '--layer', 'simulated', '--workers', '2'], /^reports: /m],
    ['fuzz in one process', 'fuzz', ['--time', '3s', '--layer', 'simulated', '--workers', '1'], /^reports: /m],
    [
      'properties on two workers',
      'properties',
      ['--property', 'pool-linearizable', '--layer', 'simulated', '--runs', '300', '--workers', '2', '--no-regressions'],
      /^pool-linearizable .*(PASS|FAIL)/m,
    ],
  ] as const)(
    '%s: once its report is out, it exits and leaves no process',
    async (_, name, args, report) => {
      const out = path.join(dir, `${name}-${args.join('')}`);
      const extra = name === 'fuzz' ? ['--out', out, '--failures-dir', out] : ['--failures-dir', out];
      const { run, token } = start(name, [...args, ...extra, '--seed', '7']);
      await run.waitFor(report, 90_000);
      const reportedAt = Date.now();
      expect(await expectNothingLeft(run, token, reportedAt)).toBe(0);
    },
    120_000,
  );

  it.each([
    ['SIGKILL', null],
    ['SIGTERM', 143],
  ] as const)(
    'fuzz %s while its workers are busy: no worker is left',
    async (signal, code) => {
      const out = path.join(dir, `fuzz-${signal}`);
      const { run, token } = start('fuzz', [
        '--time',
        '60s',
        '--layer',
        'simulated',
        '--workers',
        '2',
        '--out',
        out,
        '--seed',
        '7',
      ]);
      // Busy: both workers have used 2 s of CPU (starting up takes about 1 s; clock ticks are 1/100 s).
      await until(
        async () => {
          const workers = await workersOf(token);
          return workers.length === 2 && workers.every((w) => w.cpuTicks > 200);
        },
        60_000,
        async () => `the workers did not get busy: ${JSON.stringify(await markedProcesses(token))}`,
      );
      const killedAt = Date.now();
      run.child.kill(signal);
      expect(await expectNothingLeft(run, token, killedAt)).toBe(code);
    },
    120_000,
  );
});
