/**
 * `@erst/batch-verify/report`: the report model alone, pure (no `node:`
 * import, no Node global), so that a browser builds the very report
 * `erst-batch --json` writes: it counts what its own verifiers saw with
 * `toOutcome` and `summarize`, and adds each chunk to a `ReportBuilder`;
 * and shows it: `textSummary` (the text erst-batch prints), the charts and
 * the timestamp table of the HTML report.
 */
export { REPORT_VERSION, ReportBuilder, exitCodeOf, trustSummary } from './report.js';
export type {
  Counts,
  Failure,
  FailureKind,
  InputCounts,
  KeyCounts,
  Report,
  StateDigest,
  StateSummary,
  TimestampCounts,
  TimestampSummary,
  TrustSummary,
} from './report.js';
export { recordViews, summarize, toOutcome, utcDay } from './outcome.js';
export type { ChunkSummary, RecordOutcome } from './protocol.js';
export { dayChart, esc, keyChart, shortKey, timestampTable } from './html.js';
export { terminalSafe, textSummary } from './summary.js';
export type { SummaryInfo } from './summary.js';
