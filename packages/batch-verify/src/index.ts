export { MAX_WORKERS, runVerify } from './run.js';
export type { StateFileOptions, VerifyProgress, VerifyRunOptions } from './run.js';
export { REPORT_VERSION, exitCodeOf, trustSummary } from './report.js';
export type {
  Counts,
  Failure,
  FailureKind,
  InputCounts,
  KeyCounts,
  Report,
  StateDigest,
  LogSummary,
  StateSummary,
  TimestampCounts,
  TimestampSummary,
  TrustSummary,
} from './report.js';
export { stderrLines, terminalSafe, textSummary } from './summary.js';
export type { SummaryInfo } from './summary.js';
export { checkReport, mergeReports, readReport } from './merge.js';
export { formatShard, parseShard, shardOf } from './shard.js';
export type { Shard } from './shard.js';
export { STATE_VERSION, isStateDigest } from './state.js';
export { junitXml } from './junit.js';
export { htmlReport, shortKey } from './html.js';
export type { HtmlOptions } from './html.js';
export { writeReports } from './outputs.js';
export type { ReportFiles } from './outputs.js';
