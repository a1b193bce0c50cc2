import type { LogStageStats } from './log-stage.js';
import type { BadLine, BatchResult } from './sign-batch.js';

/** What `batchSummary` says besides the counts. */
export interface BatchSummaryInfo {
  /** How long the batch ran. */
  readonly seconds: number;
  /** The signal that stopped it (`SIGINT`, `SIGTERM`), if one did. */
  readonly stoppedBy?: string;
  readonly schema: string;
  readonly algorithm: string;
  /** The public key, hex. */
  readonly key: string;
  /** Where the records went. */
  readonly output: string;
}

const n = (x: number) => x.toLocaleString('en-US');
const plural = (x: number, word: string) => `${n(x)} ${word}${x === 1 ? '' : 's'}`;

/** `N bad (lines 3, 7, …)`: at most 10 line numbers. */
function lineList(lines: readonly BadLine[], what: string): string {
  const shown = `${lines
    .slice(0, 10)
    .map((b) => b.line)
    .join(', ')}${lines.length > 10 ? ', …' : ''}`;
  return `${n(lines.length)} ${what} (line${lines.length > 1 ? 's' : ''} ${shown})`;
}

/**
 * The line that ends a batch, for a person: counts, rate, format, key and
 * output (`batch done: 5 lines: 5 signed, 0 already signed; ...`). It quotes
 * paths: escape it before printing it to a terminal.
 *
 * @example
 * process.stderr.write(`${batchSummary(result, { seconds, schema: '2.0.0', algorithm, key, output })}\n`);
 */
export function batchSummary(result: BatchResult, info: BatchSummaryInfo): string {
  const parts = [`${n(result.signed)} signed`, `${n(result.skipped)} already signed`];
  if (result.recovered > 0) parts.push(`${n(result.recovered)} finished from the log journal`);
  if (result.badLines.length > 0) parts.push(lineList(result.badLines, 'bad'));
  if (result.untimestampedLines.length > 0)
    parts.push(`${lineList(result.untimestampedLines, 'without a timestamp token')}, not written (rerun to finish)`);
  const rate = info.seconds > 0 ? n(Math.round(result.signed / info.seconds)) : '?';
  const how = info.stoppedBy ? `interrupted by ${info.stoppedBy} (rerun to resume)` : 'done';
  return `batch ${how}: ${n(result.lines)} lines: ${parts.join(', ')}; ${info.seconds.toFixed(1)} s, ${rate}/s; ${info.schema} records, ${info.algorithm} key ${info.key} -> ${info.output}`;
}

/**
 * What a log stage got, and the signatures the key made: a record's own and
 * one per checkpoint (`log DIR (ORIGIN, size 2,000): 2,000 records, 4
 * checkpoints, 4 token signatures`), which is what a slow token's time goes
 * to; with a timestamper, the checkpoint timestamps too. `token` says the
 * key is on a token (PKCS#11) rather than in software.
 *
 * @example
 * const line = logSummary('log/', log.origin, stage.stats(), false);
 */
export function logSummary(dir: string, origin: string, stats: LogStageStats, token: boolean): string {
  const signatures = stats.recordSignatures + stats.checkpoints;
  const stamps = stats.timestamps > 0 ? `, ${plural(stats.timestamps, 'checkpoint timestamp')}` : '';
  return `log ${dir} (${origin}, size ${n(stats.size)}): ${plural(stats.appended, 'record')}, ${plural(stats.checkpoints, 'checkpoint')}, ${plural(signatures, token ? 'token signature' : 'key signature')}${stamps}`;
}
