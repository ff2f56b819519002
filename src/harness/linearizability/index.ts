// The one import surface of the linearizability checker: code elsewhere imports from here, and the
// package exports it as `grpc-pool-props/linearizability` (built by tsconfig.lib.json; see docs/checker.md).
export { casRegisterModel, type RegisterInput, type RegisterOutput, type RegisterState } from './cas-register-model.js';
export { checkOperations, DEFAULT_MAX_STATES, MAX_STATES_LIMIT } from './check-operations.js';
export { HistoryFormatError, JepsenLogError, JsonHistoryError, PorcupineKvLogError } from './history-errors.js';
export { type CheckedHistory, HISTORY_FORMATS, type HistoryFormat } from './history-formats.js';
export { parseJepsenRegisterLog, type RegisterOperation } from './jepsen-register.js';
export { type JsonHistory, parseJsonHistory } from './json-history.js';
export { JSON_MODELS, type JsonModel } from './json-models.js';
export { type KvInput, type KvOperation, type KvOutput, type KvState, kvModel } from './kv-model.js';
export type {
  CheckOptions,
  CheckResult,
  LinearizabilityModel,
  LinearizabilityReport,
  NondeterministicModel,
  Operation,
  PartitionReport,
  PartitionResult,
  UnknownReason,
} from './model.js';
export { nondeterministic } from './nondeterministic.js';
export { parsePorcupineKvLog } from './porcupine-kv.js';
export { renderTimelineHtml, type TimelineInput } from './timeline-html.js';
