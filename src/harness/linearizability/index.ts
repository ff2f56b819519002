// The one import surface of the linearizability checker: code elsewhere imports from here.
export { casRegisterModel, type RegisterInput, type RegisterOutput, type RegisterState } from './cas-register-model.js';
export { checkOperations } from './check-operations.js';
export { type CheckedHistory, HISTORY_FORMATS, type HistoryFormat } from './history-formats.js';
export { JepsenLogError, parseJepsenRegisterLog, type RegisterOperation } from './jepsen-register.js';
export type {
  CheckOptions,
  CheckResult,
  LinearizabilityModel,
  LinearizabilityReport,
  NondeterministicModel,
  Operation,
  PartitionReport,
} from './model.js';
export { nondeterministic } from './nondeterministic.js';
export { type EtcdTiming, readEtcdVerdicts, timeEtcdHistories } from './time-etcd-histories.js';
export { renderTimelineHtml, type TimelineInput } from './timeline-html.js';
