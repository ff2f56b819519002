import { access, constants, mkdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { DEFAULT_MAX_STATES, MAX_STATES_LIMIT } from '../harness/linearizability/check-operations.js';
import { HistoryFormatError } from '../harness/linearizability/history-errors.js';
import { type CheckedHistory, HISTORY_FORMATS } from '../harness/linearizability/history-formats.js';
import type { CheckOptions, LinearizabilityReport, UnknownReason } from '../harness/linearizability/model.js';
import { renderTimelineHtml } from '../harness/linearizability/timeline-html.js';
import { writeFileAtomic } from '../harness/reports.js';
import { parseDuration, parseInteger, parseOptions } from './parse-options.js';
import { runMain, UsageError } from './usage-error.js';

const HELP = `Usage: npm run check-history -- --format FORMAT FILE... [--json OUT] [--html DIR] [--timeout 10s] [--max-states N]

Checks that each history FILE is linearizable with respect to the model of its format
(Wing & Gong's search with Lowe's memoisation) and prints one verdict per file. For a history
that is not linearizable it names the operations that could not be placed. A history the model
splits (porcupine-kv: by key) is searched part by part, taking turns, and the search stops at the
first part that is not linearizable: the parts left are "not checked". See docs/checker.md.

  --format FORMAT  the history format (required); one of:
${Object.entries(HISTORY_FORMATS)
  .map(([name, f]) => `                     ${name}: ${f.summary}`)
  .join('\n')}
  --json OUT       also write a JSON report (one entry per file) to OUT
  --html DIR       write one self-contained HTML timeline per non-linearizable file into DIR
  --timeout T      give up on a file after T (like 500ms, 10s, 2m): its verdict is "unknown"
  --max-states N   memory bound: at most N memo entries at once (default ${DEFAULT_MAX_STATES}, at most
                   ${MAX_STATES_LIMIT}); a part that reaches it is "unknown (memory bound reached)"
  -h, --help       print this help

Exit codes: 0 every history linearizable, 1 some not linearizable or unknown,
2 bad usage or an unreadable history, 3 cannot write --json or --html outputs.`;

/** An output path that cannot be written: the CLI exits 3. */
class OutputError extends Error {}

// A folder that must already exist and be writable. Nothing is created recursively: Node 20's
// recursive mkdir can spin forever under /proc, and a typo should not grow a tree of folders.
async function requireWritableFolder(dir: string, flag: string, target: string): Promise<void> {
  const info = await stat(dir).catch(() => undefined);
  if (!info?.isDirectory())
    throw new OutputError(`cannot write ${flag} ${target}: folder ${dir} does not exist; create it first`);
  await access(dir, constants.W_OK).catch(() => {
    throw new OutputError(`cannot write ${flag} ${target}: folder ${dir} is not writable; pick another path`);
  });
}

// Checked before any history is, so a long run never ends in an unwritable report.
async function prepareOutputs(json: string | undefined, html: string | undefined): Promise<void> {
  if (json !== undefined) {
    if ((await stat(json).catch(() => undefined))?.isDirectory())
      throw new OutputError(`--json ${json} is a folder; give a file name`);
    await requireWritableFolder(path.dirname(path.resolve(json)), '--json', json);
  }
  if (html !== undefined) {
    await requireWritableFolder(path.dirname(path.resolve(html)), '--html', html);
    await mkdir(html).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'EEXIST') throw new OutputError(`cannot create --html folder ${html}: ${error.message}`);
    });
    await requireWritableFolder(html, '--html', html);
  }
}

const UNKNOWN: Record<UnknownReason, string> = {
  timeout: 'timed out',
  memory: 'memory bound reached',
  'model-error': 'the model threw',
};

function verdict(report: LinearizabilityReport): string {
  if (report.result === 'unknown') return `unknown (${UNKNOWN[report.reason ?? 'timeout']})`;
  return report.result === 'linearizable' ? 'linearizable' : 'not linearizable';
}

// What the console line adds about the parts: how many were left unchecked, and any model error.
function partsNote(report: LinearizabilityReport): string {
  const notChecked = report.partitions.filter((p) => p.result === 'not-checked').length;
  const note = notChecked > 0 ? `; ${notChecked} of ${report.partitions.length} parts not checked` : '';
  const error = report.error ?? report.partitions.find((p) => p.error !== undefined)?.error;
  return error === undefined ? note : `${note}; ${error}`;
}

/** The operations a failing partition got stuck on, as plain data for the console and the JSON report. */
function stuckOperations(h: CheckedHistory) {
  const byId = new Map(h.ops.map((o) => [o.id, o]));
  return h.report.partitions
    .filter((p) => p.result === 'not-linearizable')
    .map((p) => ({
      label: p.label ?? null,
      placed: p.longestPrefix.length,
      of: p.ops,
      state: p.stuck?.state,
      ops: (p.stuck?.opIds ?? []).flatMap((id) => {
        const op = byId.get(id);
        if (!op) return [];
        const ret = Number.isFinite(op.ret) ? op.ret : null; // JSON has no Infinity: null is "never returned"
        return [
          {
            id,
            client: op.client,
            operation: h.describe(op.input, op.output),
            input: op.input,
            output: op.output ?? null,
            call: op.call,
            ret,
          },
        ];
      }),
    }));
}

/** One file's entry in the JSON report. */
interface FileResult {
  readonly file: string;
  readonly result: CheckedHistory['report']['result'];
  readonly elapsedMs: number;
  readonly ops: number;
  readonly partitions: CheckedHistory['report']['partitions'];
  readonly stuck: ReturnType<typeof stuckOperations>;
  readonly html: string | undefined;
}

function htmlName(file: string, taken: Set<string>): string {
  const base = path.basename(file).replace(/\.[^.]*$/, '') || 'history';
  let name = `${base}.html`;
  for (let k = 2; taken.has(name); k++) name = `${base}-${k}.html`;
  taken.add(name);
  return name;
}

runMain(async () => {
  // Piped into `head`: stop quietly once the reader has gone (the verdicts left are unknown, so the
  // exit code stays whatever is set already: 141, the shell's "broken pipe").
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit();
    throw error;
  });
  const { values, positionals: files } = parseOptions(
    process.argv.slice(2),
    {
      format: { type: 'string' },
      json: { type: 'string' },
      html: { type: 'string' },
      timeout: { type: 'string' },
      'max-states': { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    true,
  );
  if (values.help) {
    console.log(HELP);
    return 0;
  }
  const known = Object.keys(HISTORY_FORMATS).join(', ');
  if (values.format === undefined) throw new UsageError(`--format is required; known formats: ${known}`);
  const format = HISTORY_FORMATS[values.format];
  if (!format) throw new UsageError(`unknown --format "${values.format}"; known formats: ${known}`);
  if (files.length === 0) throw new UsageError('give at least one history FILE to check');
  const timeoutMs = values.timeout === undefined ? undefined : parseDuration(values.timeout, '--timeout');
  const maxStates =
    values['max-states'] === undefined ? undefined : parseInteger(values['max-states'], '--max-states', 1, MAX_STATES_LIMIT);
  const options: CheckOptions = { ...(timeoutMs !== undefined && { timeoutMs }), ...(maxStates !== undefined && { maxStates }) };

  const texts: string[] = [];
  for (const file of files) {
    const text = await readFile(file, 'utf8').catch((error: NodeJS.ErrnoException) => {
      const why = error.code === 'ENOENT' ? 'no such file' : error.code === 'EISDIR' ? 'it is a folder' : error.message;
      throw new UsageError(`cannot read history ${file}: ${why}; check the path`);
    });
    texts.push(text);
  }
  try {
    await prepareOutputs(values.json, values.html);
  } catch (error) {
    if (!(error instanceof OutputError)) throw error;
    process.stderr.write(`error: ${error.message}\n`);
    return 3;
  }

  const results: FileResult[] = [];
  const taken = new Set<string>();
  for (const [i, file] of files.entries()) {
    let checked: CheckedHistory;
    try {
      checked = format.check(texts[i] as string, file, options);
    } catch (error) {
      if (error instanceof HistoryFormatError) throw new UsageError(`malformed history: ${error.message}`);
      throw error;
    }
    const { report } = checked;
    console.log(
      `${file}: ${verdict(report)} (${report.elapsedMs.toFixed(1)} ms, ${checked.ops.length} operations${partsNote(report)})`,
    );
    const stuck = stuckOperations(checked);
    for (const s of stuck) {
      const part = s.label === null ? '' : `part ${JSON.stringify(s.label)}: `;
      console.log(
        `  ${part}stuck after ${s.placed} of ${s.of} operations, state ${s.state}; none of these could be placed next:`,
      );
      for (const op of s.ops)
        console.log(`    client ${op.client}: ${op.operation} (op #${op.id}, call ${op.call}, return ${op.ret ?? 'never'})`);
    }
    let html: string | undefined;
    if (values.html !== undefined && report.result === 'not-linearizable') {
      html = path.join(values.html, htmlName(file, taken));
      const page = renderTimelineHtml({
        title: path.basename(file),
        ops: checked.ops,
        result: report,
        describe: checked.describe,
      });
      try {
        await writeFileAtomic(html, page);
      } catch (error) {
        process.stderr.write(`error: cannot write ${html}: ${(error as Error).message}\n`);
        return 3;
      }
      console.log(`  timeline: ${html}`);
    }
    results.push({
      file,
      result: report.result,
      elapsedMs: report.elapsedMs,
      ops: checked.ops.length,
      partitions: report.partitions,
      stuck,
      html,
    });
  }

  const count = (r: string) => results.filter((x) => x.result === r).length;
  const summary = {
    files: results.length,
    linearizable: count('linearizable'),
    notLinearizable: count('not-linearizable'),
    unknown: count('unknown'),
  };
  if (files.length > 1) {
    console.log(
      `${summary.files} histories: ${summary.linearizable} linearizable, ${summary.notLinearizable} not, ${summary.unknown} unknown`,
    );
  }
  if (values.json !== undefined) {
    try {
      await writeFileAtomic(
        values.json,
        `${JSON.stringify({ format: values.format, timeoutMs: timeoutMs ?? null, maxStates: maxStates ?? DEFAULT_MAX_STATES, summary, files: results }, null, 2)}\n`,
      );
    } catch (error) {
      process.stderr.write(`error: cannot write --json ${values.json}: ${(error as Error).message}\n`);
      return 3;
    }
  }
  return summary.linearizable === summary.files ? 0 : 1;
});
