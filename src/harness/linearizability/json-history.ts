import { JsonHistoryError } from './history-errors.js';
import { JSON_MODELS, type JsonModel } from './json-models.js';
import type { Operation } from './model.js';

/** A JSON history once read: the model it names and its operations. */
export interface JsonHistory {
  readonly modelName: string;
  readonly model: JsonModel<unknown, unknown, unknown>;
  readonly ops: Operation<unknown, unknown>[];
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const show = (v: unknown) => JSON.stringify(v) ?? String(v);
const lineAt = (text: string, position: number) => text.slice(0, position).split('\n').length;

/**
 * The line on which each element of the top-level `"operations"` array starts, so that an error in
 * operation i can name its line. `text` is known to be valid JSON (JSON.parse accepted it).
 */
function operationLines(text: string): number[] {
  const lines: number[] = [];
  let line = 1;
  let depth = 0;
  let lastKey: string | undefined;
  let inOperations = false;
  let expectElement = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i] as string;
    if (c === '\n') line++;
    if (/\s/.test(c)) continue;
    if (inOperations && depth === 2 && expectElement && c !== ']') {
      lines.push(line);
      expectElement = false;
    }
    if (c === '"') {
      const start = i;
      for (i++; text[i] !== '"'; i++) if (text[i] === '\\') i++;
      if (depth === 1) lastKey = JSON.parse(text.slice(start, i + 1)) as string;
    } else if (c === '{' || c === '[') {
      if (c === '[' && depth === 1 && lastKey === 'operations') inOperations = expectElement = true;
      depth++;
    } else if (c === '}' || c === ']') {
      depth--;
      if (depth === 1) inOperations = false;
    } else if (c === ',' && inOperations && depth === 2) {
      expectElement = true;
    }
  }
  return lines;
}

/**
 * Reads a JSON history: `{"model": NAME, "operations": [{id, client, input, output, call, ret}, ...]}`
 * (see docs/checker.md), the operations of `checkOperations` as JSON, with `null` for an unknown
 * output and for a `ret` that never came (Infinity). `model` is one of `JSON_MODELS`, whose readers
 * check each input and output. Throws `JsonHistoryError` naming the line and what is wrong.
 */
export function parseJsonHistory(text: string, file = '<json>'): JsonHistory {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (error) {
    const message = (error as Error).message;
    const position = /at position (\d+)/.exec(message);
    const line = position ? lineAt(text, Number(position[1])) : text.split('\n').length;
    throw new JsonHistoryError(file, line, `not valid JSON: ${message}`);
  }
  const known = Object.keys(JSON_MODELS)
    .map((k) => `"${k}"`)
    .join(', ');
  if (!isObject(doc))
    throw new JsonHistoryError(file, 1, `expected an object {"model": ..., "operations": [...]}, got ${show(doc)?.slice(0, 40)}`);
  const modelName = doc.model;
  if (typeof modelName !== 'string' || !Object.hasOwn(JSON_MODELS, modelName))
    throw new JsonHistoryError(file, 1, `"model" must be one of ${known}, got ${show(modelName)}`);
  const model = JSON_MODELS[modelName] as JsonModel<unknown, unknown, unknown>;
  if (!Array.isArray(doc.operations))
    throw new JsonHistoryError(file, 1, `"operations" must be an array, got ${show(doc.operations)}`);
  const lines = operationLines(text);
  const seen = new Set<number>();
  const ops = doc.operations.map((raw: unknown, i: number): Operation<unknown, unknown> => {
    const fail = (detail: string): never => {
      throw new JsonHistoryError(file, lines[i] ?? 1, `operations[${i}]: ${detail}`);
    };
    if (!isObject(raw)) return fail(`expected an object {id, client, input, output, call, ret}, got ${show(raw)}`);
    const id = raw.id ?? i;
    if (!Number.isSafeInteger(id)) fail(`id must be a whole number, got ${show(raw.id)}`);
    if (seen.has(id as number)) fail(`id ${id} is used twice`);
    seen.add(id as number);
    const client = typeof raw.client === 'number' ? String(raw.client) : raw.client;
    if (typeof client !== 'string') fail(`client must be a string, got ${show(raw.client)}`);
    if (typeof raw.call !== 'number' || !Number.isFinite(raw.call)) fail(`call must be a number (a time), got ${show(raw.call)}`);
    const call = raw.call as number;
    const ret = raw.ret ?? null;
    if (ret !== null && (typeof ret !== 'number' || !Number.isFinite(ret)))
      fail(`ret must be a number (a time) or null (never returned), got ${show(ret)}`);
    if (ret !== null && (ret as number) < call) fail(`ret ${ret} is before call ${call}`);
    const input = model.readInput(raw.input);
    if (typeof input === 'string') fail(input);
    const known = raw.output !== undefined && raw.output !== null;
    if (known && ret === null) fail('output is given but ret is null (never returned); give its ret, or output null');
    const output = known ? model.readOutput(raw.output, input) : undefined;
    if (typeof output === 'string') fail(output);
    return {
      id: id as number,
      client: client as string,
      input,
      output,
      call,
      ret: ret === null ? Number.POSITIVE_INFINITY : (ret as number),
    };
  });
  return { modelName, model, ops };
}
