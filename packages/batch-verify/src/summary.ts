import { escapeForDisplay } from '@erst/core';
import { shortKey } from './html.js';
import type { Counts, Failure, Report, TimestampCounts, TimestampSummary } from './report.js';

const n = (x: number): string => x.toLocaleString('en-US');

function countsLine(label: string, c: Counts, width: number): string {
  return `  ${label.padEnd(width)}  ${n(c.valid).padStart(9)} valid  ${n(c.invalid).padStart(9)} invalid`;
}

/** Control characters (and bidi controls) in a file name must not drive the terminal. */
const safe = escapeForDisplay;

/** A line for the terminal: control characters inside it made visible, its newline kept. */
export function terminalSafe(line: string): string {
  return `${safe(line.replace(/\n$/, ''))}\n`;
}

/** How the run went, for the summary's first line (left out: a report read back, or a merge). */
export interface SummaryInfo {
  /** Wall-clock seconds the run took. */
  seconds?: number;
  /** Worker threads it used; 0: none (everything ran on one thread, see `onWorkers`). */
  workers?: number;
}

const tsLine = (label: string, c: TimestampCounts, width: number): string =>
  `    ${label.padEnd(width)}  ${n(c.timestamped).padStart(9)} timestamped  ${n(c.not_timestamped).padStart(9)} not` +
  (c.unverified > 0 ? ` (${n(c.unverified)} with a token not verified)` : '');

/**
 * Trusted timestamps: one line over all records; by key and by day only when
 * some record carries a token (otherwise every row would read "0 timestamped").
 */
function timestampLines(ts: TimestampSummary, keyLabel: (id: string) => string): string[] {
  const records = ts.timestamped + ts.not_timestamped;
  const out = [
    `Trusted timestamps (RFC 3161): ${n(ts.timestamped)} of ${n(records)} record${records === 1 ? '' : 's'} timestamped` +
      (ts.unverified > 0 ? `; ${n(ts.unverified)} carry a token that was not verified` : ''),
  ];
  if (ts.timestamped + ts.unverified === 0) return out;
  const keys = Object.entries(ts.by_key).map(([id, c]) => [keyLabel(id), c] as const);
  const days = Object.entries(ts.by_day);
  const w = Math.max(10, ...keys.map(([l]) => l.length));
  if (keys.length > 0) out.push('  by signing key:', ...keys.map(([l, c]) => tsLine(l, c, w)));
  out.push('  by day:', ...days.map(([d, c]) => tsLine(d, c, w)));
  return out;
}

/** Where the records were verified: on worker threads, or without any (a run that started none). */
function threads(workers: number | undefined): string {
  if (workers === undefined) return '';
  if (workers === 0) return ' without worker threads';
  return ` on ${workers} worker${workers > 1 ? 's' : ''}`;
}

/**
 * The human summary of a report, as `erst-batch` prints it: counts by
 * result, format and signing key, trusted timestamps by key and by day,
 * state and log findings, every failure with its reason, and the verdict.
 * Every line has control characters made visible (names in a report come
 * from files), so it can go to a terminal as it is.
 *
 * @example
 * const text = textSummary(await runVerify(options), { seconds: 1.2, workers: 2 });
 */
export function textSummary(r: Report, info: SummaryInfo = {}): string {
  const out: string[] = [];
  const t = r.totals;
  const rate = info.seconds && info.seconds > 0 ? `, ${n(Math.round(t.records / info.seconds))} records/s` : '';
  const how = info.seconds !== undefined ? ` in ${info.seconds.toFixed(1)} s${threads(info.workers)}${rate}` : '';
  const scope = r.shard
    ? ` (shard ${r.shard})`
    : r.merged_from
      ? ` (merged from ${r.merged_from.length} report${r.merged_from.length > 1 ? 's' : ''})`
      : '';
  out.push(`erst-batch: ${n(t.records)} record${t.records === 1 ? '' : 's'}${scope}${how}`);
  out.push('By result:');
  out.push(`  valid        ${n(t.valid).padStart(9)}`);
  out.push(`  invalid      ${n(t.invalid).padStart(9)}`);
  out.push(`  unreadable   ${n(t.unreadable).padStart(9)}   (inputs that could not be read at all)`);
  for (const [code, count] of Object.entries(r.by_code)) out.push(`    ${code.padEnd(32)} ${n(count).padStart(9)}`);
  const formats = Object.entries(r.by_format);
  if (formats.length > 0) {
    out.push('By format:');
    for (const [f, c] of formats) out.push(countsLine(f, c, 10));
  }
  const keys = Object.entries(r.by_key);
  const keyLabel = (id: string): string => {
    const label = r.by_key[id]?.label;
    return `${shortKey(id)}${label ? ` "${safe(label)}"` : ''}`;
  };
  if (keys.length > 0) {
    out.push('By signing key:');
    const labels = keys.map(([id]) => keyLabel(id));
    const w = Math.max(...labels.map((l) => l.length));
    keys.forEach(([, k], i) => {
      out.push(countsLine(labels[i]!, k, w));
    });
  }
  if (Object.keys(r.by_trust).length > 0) {
    out.push(
      `Trust of valid records: ${Object.entries(r.by_trust)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
    );
  }
  if (r.trust.pinned_keys === 0 && r.trust.attestation_roots === 0) {
    out.push(
      'Note: no key was pinned, so "valid" means "someone signed this", not "we signed this". Pin your keys (public keys or a trust file).',
    );
  }
  if (r.timestamps) out.push(...timestampLines(r.timestamps, keyLabel));
  if (Object.keys(r.warnings).length > 0) {
    out.push(
      `Warnings: ${Object.entries(r.warnings)
        .map(([k, v]) => `${k} ${n(v)}`)
        .join(', ')}`,
    );
  }
  if (r.state) {
    const s = r.state;
    const what =
      s.status === 'baseline'
        ? `no previous state: recorded a baseline of ${n(s.records)} records`
        : s.status === 'tampered'
          ? r.failures.some((f) => f.code === 'ERR_STATE_ROLLBACK')
            ? 'NOT THE EXPECTED STATE (its digest is not the one expected): rolled back or replaced; it was not used'
            : 'TAMPERED: the previous state cannot be trusted and was not used'
          : `compared with ${n(s.previous_records)} records seen before: ${n(r.missing?.length ?? 0)} missing, ${n(r.changed?.length ?? 0)} changed, ${n(r.new?.length ?? 0)} new`;
    out.push(`State (${s.files.map(safe).join(', ')}): ${what}${s.written ? '' : '; state file not updated'}`);
  }
  if (r.log) {
    const l = r.log;
    const what =
      l.status === 'unreadable'
        ? 'COULD NOT BE READ'
        : l.size === null
          ? 'FAILED: the log does not verify'
          : `origin ${safe(l.origin ?? '')}, size ${n(l.size)}, root ${l.root}; ${n(l.records_in_log)} entries with a record, ` +
            `${n(l.missing.length)} missing, ${n(l.not_in_log.length)} records not in the log` +
            (l.inconsistent_checkpoints.length > 0
              ? `, ${n(l.inconsistent_checkpoints.length)} checkpoints of another history`
              : '') +
            (l.consistent === false
              ? '; NOT CONSISTENT with the checkpoint the state recorded (rewritten or rolled back)'
              : l.consistent
                ? `; grew from size ${n(l.previous!.size)}`
                : '');
    out.push(`Log (${safe(l.source)}): ${what}`);
  }
  if (r.failures.length > 0) {
    out.push(`Failures (${n(r.failures.length)}):`);
    for (const f of r.failures) out.push(`  ${safe(f.source)}: ${f.code}: ${safe(f.message)}`);
  }
  const result =
    r.exit_code === 0
      ? 'PASS'
      : r.exit_code === 1
        ? 'FAIL'
        : r.exit_code === 70
          ? 'ERROR (internal error, ERR_INTERNAL: a bug in erst-batch; please report it)'
          : 'ERROR (input could not be read)';
  out.push(`Result: ${result} (exit ${r.exit_code})`);
  // Every line, not only the names known to be untrusted: a merged report's
  // counts and names come from files too.
  return `${out.map(escapeForDisplay).join('\n')}\n`;
}

/**
 * What must reach stderr even when the summary is not shown: every input (or
 * log) that could not be read (the run saw less than it was asked to), every
 * record that hit a bug (`ERR_INTERNAL`), a state rollback, and the digest of
 * each state file left in place, for the next run's expected state.
 * `formatError(code, text)` renders a failure as the tool's error line;
 * control characters are made visible in every line.
 */
export function stderrLines(r: Report, formatError: (code: string, text: string) => string): string {
  const shown = (f: Failure): boolean =>
    f.kind === 'unreadable' ||
    (f.kind === 'log' && r.log?.status === 'unreadable') ||
    f.code === 'ERR_INTERNAL' ||
    (f.kind === 'state' && f.code === 'ERR_STATE_ROLLBACK');
  const out = r.failures.filter(shown).map((f) => `${formatError(f.code, `${f.source}: ${f.message}`)}\n`);
  const kept = r.state?.written ? '' : ' (not replaced by this run)';
  for (const s of r.state?.digests ?? []) {
    out.push(`erst-batch: state ${s.file}: sequence ${s.sequence}, digest ${s.digest}${kept}\n`);
  }
  return out.map(terminalSafe).join('');
}
