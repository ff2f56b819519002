import path from 'node:path';
import { FailureFileError, readFailureFile } from '../harness/failure-file.js';
import {
  GrpcJsReleaseError,
  parseRelease,
  provideRelease,
  publishedReleases,
  releasesBetween,
} from '../harness/grpc-js-releases.js';
import { bisectReleases, type ReleaseReplays, verdictOf } from '../harness/release-bisect.js';
import { runCliChild } from './cli-child.js';
import { EnvironmentError, UsageError } from './cli-errors.js';
import { exitCodesHelp } from './exit-codes.js';
import { parseInteger, parseOptions } from './parse-options.js';
import { runMain } from './run-main.js';
import type { StopSignal } from './stop-signal.js';

const HELP = `Usage: npm run bisect -- FILE --good V1 --bad V2 [--replays K] [--releases V,V,...]

Finds the @grpc/grpc-js release where a saved failure's verdict changes. Replays FILE (its recorded
steps, first on its recorded schedule, then on fresh ones, as npm run replay does) K times on a
release, in a process of its own with the client stack on that release (installed on first use),
and binary-searches the published releases between V1 and V2: V1 and V2 first, then the middle of
the span whose ends disagree. A release "fails" if the case reproduced at least once there; one where the
replay ends without a verdict (the process crashed, the release cannot be installed) is skipped.
Prints the replay counts of every release tried and the first release with the newer end's verdict
(V2 older than V1: where a bug was fixed; V1 older than V2: where it came in).

  --good V         a release where the case passes (e.g. 1.12.4)
  --bad V          a release where it fails (e.g. 1.12.2)
  --replays K      replays per release (1..100, default 5)
  --releases LIST  search these releases (comma-separated) instead of the registry's list
  -h, --help       this text

Exit 0 when the change is found, or when both ends agree (said so).

${exitCodesHelp('the ends do not behave as --good and --bad say (--good fails, or --bad passes)')}`;

runMain(
  async (stop) => {
    const { values, positionals } = parseOptions(
      process.argv.slice(2),
      {
        good: { type: 'string' },
        bad: { type: 'string' },
        replays: { type: 'string', default: '5' },
        releases: { type: 'string' },
        help: { type: 'boolean', default: false },
      },
      { positionals: true, help: HELP },
    );
    if (values.help) {
      console.log(HELP);
      return 0;
    }
    if (positionals.length !== 1) throw new UsageError('bisect takes exactly one failure file');
    const file = positionals[0] as string;
    if (values.good === undefined || values.bad === undefined) throw new UsageError('bisect needs --good V and --bad V');
    const good = release(values.good, '--good');
    const bad = release(values.bad, '--bad');
    if (good === bad) throw new UsageError('--good and --bad name the same release');
    const replays = parseInteger(values.replays, '--replays', 1, 100);
    const failure = await readFailureFile(file).catch((error: unknown) => {
      throw error instanceof FailureFileError ? new UsageError(error.message) : error;
    });
    const listed = values.releases
      ? values.releases.split(',').map((v) => release(v.trim(), '--releases'))
      : await publishedReleases().catch(asEnvironment);
    const span = releasesBetween([...new Set([...listed, good, bad])], good, bad);
    console.log(
      `bisect ${path.basename(file)} (${failure.property} [${failure.layer}], saved on grpc-js ${failure.grpcJsVersion ?? 'unknown'}): ` +
        `${span.length} releases from ${span[0]} to ${span[span.length - 1]}, ${replays} replay(s) each`,
    );

    const judge = async (v: string): Promise<ReleaseReplays> => {
      const r = await replayOn(file, v, replays, stop);
      const verdict = verdictOf(r);
      console.log(
        `  ${v.padEnd(8)} ${verdict === 'none' ? `NO VERDICT (skipped): ${r.error}` : `reproduced ${r.reproduced}/${r.replays}  ${verdict === 'fails' ? 'FAILS' : 'passes'}`}`,
      );
      return r;
    };
    const outcome = await bisectReleases(span, judge, () => stop.stopped);
    if (stop.reason) {
      console.log(`interrupted by ${stop.reason} after ${outcome.tried.length} release(s)`);
      return 0;
    }
    const by = new Map(outcome.tried.map((r) => [r.release, r]));
    const goodEnd = by.get(good);
    const badEnd = by.get(bad);
    const wrong = [
      ...(goodEnd && verdictOf(goodEnd) === 'fails'
        ? [`--good ${good} fails here (reproduced ${goodEnd.reproduced}/${goodEnd.replays})`]
        : []),
      ...(badEnd && verdictOf(badEnd) === 'passes' ? [`--bad ${bad} passes here (reproduced 0/${badEnd.replays})`] : []),
    ];
    console.log(
      `tried: ${outcome.tried.map((r) => `${r.release} ${r.error ? 'no verdict' : `${r.reproduced}/${r.replays}`}`).join(', ')}`,
    );
    const endless = [goodEnd, badEnd].filter((r) => r && verdictOf(r) === 'none') as ReleaseReplays[];
    if (endless.length > 0) {
      throw new EnvironmentError(
        `no verdict at an end of the span: ${endless.map((r) => `${r.release}: ${r.error}`).join('; ')}`,
      );
    }
    if (wrong.length > 0) {
      console.log(`the ends are not as given: ${wrong.join('; ')}`);
      return 1;
    }
    if (!outcome.change) {
      console.log('both ends give the same verdict: nothing to bisect');
      return 0;
    }
    const { first, last, skipped } = outcome.change;
    const word = verdictOf(first) === 'passes' ? 'good' : 'bad';
    console.log(
      `first ${word} release: ${first.release} (reproduced ${first.reproduced}/${first.replays}); ` +
        `the release before it, ${last.release}, reproduced ${last.reproduced}/${last.replays}` +
        (skipped.length > 0 ? `; or one of ${skipped.join(', ')}, which gave no verdict` : ''),
    );
    return 0;
  },
  { stoppable: true },
);

/**
 * Replays `file` `replays` times with the client on `version`, in a process of its own. A release
 * that cannot be installed, or a replay that ends without its "reproduced k/n" line (the process
 * crashed, an environment error), gives no verdict: the error says why.
 */
async function replayOn(file: string, version: string, replays: number, stop: StopSignal): Promise<ReleaseReplays> {
  const none = (error: string): ReleaseReplays => ({ release: version, reproduced: 0, replays: 0, error });
  try {
    await provideRelease(version);
  } catch (error) {
    if (error instanceof GrpcJsReleaseError) return none(error.message);
    throw error;
  }
  const out = await runCliChild('replay', [file, '--grpc-js', version, '--repeat', String(replays)], stop);
  const counts = /reproduced (\d+)\/(\d+)/.exec(out.stdout);
  if (stop.stopped) return none('interrupted');
  if ((out.code !== 0 && out.code !== 1) || !counts) {
    const lines = out.stderr.split('\n').map((l) => l.trim());
    const why = lines.find((l) => /Error\b/.test(l)) ?? lines.filter((l) => l && !l.startsWith('Node.js v')).pop() ?? '';
    return none(`replay ended with exit ${out.code}: ${why}`);
  }
  return { release: version, reproduced: Number(counts[1]), replays: Number(counts[2]) };
}

function release(text: string, flag: string): string {
  try {
    return parseRelease(text);
  } catch (error) {
    throw new UsageError(`${flag}: ${(error as Error).message}`);
  }
}

function asEnvironment(error: unknown): never {
  if (error instanceof GrpcJsReleaseError) throw new EnvironmentError(error.message);
  throw error;
}
