import type { PropertyResult } from '../../properties/pool-property.js';
import { GRPC_JS_DIR_ENV } from '../pool/grpc-js-release.js';

/**
 * Whether a result checked nothing: its time budget ran out (or a stop came) before the first run,
 * or a `--path` named no case as generated now (fast-check then runs nothing and calls it a pass).
 */
export function hadNoRuns(r: PropertyResult): boolean {
  return r.passed && r.runs === 0;
}

/** Runs and commands (operations) per second of wall time, and commands per run (null without run lengths). */
export function rates(r: PropertyResult): { runsPerSec: number; commandsPerSec: number | null; meanCommands: number | null } {
  const perSec = (n: number) => (n / Math.max(r.wallMs, 1)) * 1000;
  return {
    runsPerSec: perSec(r.runs),
    commandsPerSec: r.runLengths ? perSec(r.runLengths.total) : null,
    meanCommands: r.runLengths ? r.runLengths.mean : null,
  };
}

/** One summary line per property run: name, layer, runs, seed, wall time, runs/s, result. */
export function resultLine(r: PropertyResult): string {
  const spread = r.workers && r.workers > 1 ? `, ${r.workers} workers` : '';
  const name = `${r.property} [${r.layer}${spread}${r.variant ? ` vs ${r.variant}` : ''}]`;
  const { runsPerSec, commandsPerSec } = rates(r);
  const verdict = r.skipped
    ? `SKIPPED: ${r.skipped}`
    : hadNoRuns(r)
      ? r.interrupted
        ? 'NO RUNS (stopped before the first run: time budget ran out, or interrupted)'
        : 'NO RUNS (the seed and --path name no case as generated now: nothing was checked; replay a failure file instead)'
      : r.passed
        ? r.interrupted
          ? 'PASS (stopped early: time budget reached or interrupted)'
          : 'PASS'
        : 'FAIL';
  // Commands (operations) per run: a run is longer or shorter depending on --max-commands.
  const l = r.runLengths;
  const lengths = l
    ? `  ${(commandsPerSec ?? 0).toFixed(0).padStart(6)} cmds/s  len mean ${l.mean.toFixed(1)} max ${l.max} empty ${(l.emptyShare * 100).toFixed(0)}%`
    : '';
  const voids = r.voidRuns?.count
    ? `\n  ${r.voidRuns.count} run(s) set aside: the harness could not act or observe (first: ${r.voidRuns.first})`
    : '';
  // The client stack's release, where it carried the runs (the simulated layer opens no channel).
  const release = r.layer === 'live' && r.grpcJs ? `  grpc-js ${r.grpcJs}` : '';
  return `${name.padEnd(46)} runs ${String(r.runs).padStart(6)}  seed ${String(r.seed).padStart(11)}  ${(r.wallMs / 1000).toFixed(1).padStart(6)} s  ${runsPerSec.toFixed(1).padStart(8)} runs/s${lengths}  ${verdict}${release}${voids}`;
}

/** What the minimiser did after fast-check's shrinking: fewer operations, or as many made simpler. */
function minimisedText(m: NonNullable<PropertyResult['minimised']>): string {
  // As many operations, but simpler: arguments, or (a parallel program) an operation moved into the
  // prefix, branches merged, the hold dropped.
  const what =
    m.fromCommands === m.toCommands
      ? `simplified, still ${m.toCommands} operation${m.toCommands === 1 ? '' : 's'}`
      : `from ${m.fromCommands} to ${m.toCommands} operations`;
  return `minimised after shrinking, ${what} (${m.candidates} candidates tried)`;
}

/**
 * The shrunk counterexample and what it takes to see it again: by default the `properties` command
 * that runs the same case (with its `--target`, where it ran against one); `sameCase` replaces it.
 */
export function failureDetails(r: PropertyResult, sameCase?: string): string {
  const steps = (r.counterexample ?? []).map((s, i) => `    ${i + 1}. ${s}`).join('\n');
  return [
    `  error: ${r.error}`,
    `  shrunk counterexample (${r.counterexample?.length ?? 0} commands, after ${r.shrinks} shrinks):`,
    steps,
    `  seed ${r.seed}, path "${r.path}", commands replay path "${r.commandsReplayPath ?? ''}"`,
    sameCase !== undefined
      ? `  the same case: ${sameCase}`
      : r.minimised
        ? `  ${minimisedText(r.minimised)}: no --seed/--path generates it; its failure file replays it (npm run replay, below)`
        : `  the same case: npm run properties -- --seed=${r.seed} --path ${r.path} --layer ${r.layer} --property ${r.property}` +
          `${r.commandsReplayPath ? ` --commands-path ${r.commandsReplayPath}` : ''} --max-commands ${r.constraints.maxCommands}` +
          `${r.pool ? ` --pool ${r.pool}` : ''}${r.variant ? ` --against ${r.variant}` : ''}${r.targets?.length ? ` --target ${r.targets.join(',')}` : ''}` +
          // The client ran on a release chosen with --grpc-js: the same case runs there too.
          `${process.env[GRPC_JS_DIR_ENV] && r.grpcJs ? ` --grpc-js ${r.grpcJs}` : ''} --no-regressions`,
  ].join('\n');
}
