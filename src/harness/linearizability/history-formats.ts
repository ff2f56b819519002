import { casRegisterModel } from './cas-register-model.js';
import { checkOperations } from './check-operations.js';
import { parseJepsenRegisterLog } from './jepsen-register.js';
import { parseJsonHistory } from './json-history.js';
import { JSON_MODELS } from './json-models.js';
import { kvModel } from './kv-model.js';
import type { CheckOptions, LinearizabilityModel, LinearizabilityReport, Operation } from './model.js';
import { parsePorcupineKvLog } from './porcupine-kv.js';

/** A history file format with the model its operations are checked against. */
export interface HistoryFormat {
  /** What `--help` says about it. */
  readonly summary: string;
  /** Parses and checks one file's text; throws a `HistoryFormatError` naming file:line on a malformed line. */
  check(text: string, file: string, options: CheckOptions): CheckedHistory;
}

/** One parsed and checked history, ready to print or draw. */
export interface CheckedHistory {
  readonly ops: readonly Operation<unknown, unknown>[];
  readonly report: LinearizabilityReport;
  readonly describe: (input: unknown, output: unknown) => string;
}

// Erases the model's own types once parsing and checking are done, so formats can sit in one table.
function checked<S, I, O>(model: LinearizabilityModel<S, I, O>, ops: Operation<I, O>[], options: CheckOptions): CheckedHistory {
  const describe = (input: unknown, output: unknown) =>
    model.describeOperation?.(input as I, output as O | undefined) ??
    `${JSON.stringify(input)} -> ${JSON.stringify(output) ?? '?'}`;
  return { ops: ops as Operation<unknown, unknown>[], report: checkOperations(model, ops, options), describe };
}

function format<S, I, O>(
  summary: string,
  parse: (text: string, file: string) => Operation<I, O>[],
  model: LinearizabilityModel<S, I, O>,
): HistoryFormat {
  return { summary, check: (text, file, options) => checked(model, parse(text, file), options) };
}

/** The history formats `check-history --format` knows, by name. */
export const HISTORY_FORMATS: Readonly<Record<string, HistoryFormat>> = {
  'jepsen-register': format(
    'Jepsen etcd log of one compare-and-set register (read, write, cas)',
    parseJepsenRegisterLog,
    casRegisterModel,
  ),
  'porcupine-kv': format(
    "Porcupine's key-value log, one EDN map a line (get, put, append); checked key by key",
    parsePorcupineKvLog,
    kvModel,
  ),
  json: {
    summary: `{"model": ${Object.keys(JSON_MODELS)
      .map((m) => `"${m}"`)
      .join('|')}, "operations": [{id, client, input, output, call, ret}]} (docs/checker.md)`,
    check(text, file, options) {
      const { model, ops } = parseJsonHistory(text, file);
      return checked(model.model, ops, options);
    },
  },
};
