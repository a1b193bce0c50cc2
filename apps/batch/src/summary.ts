import { escapeForDisplay } from '@erst/core';
import { type Counts, type Report, shortKey } from '@erst/batch-verify';

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

export interface RunInfo {
  seconds?: number;
  workers?: number;
}

/** The human summary: counts by result, format and key, state findings, and every failure with its reason. */
export function humanSummary(r: Report, info: RunInfo = {}): string {
  const out: string[] = [];
  const t = r.totals;
  const rate = info.seconds && info.seconds > 0 ? `, ${n(Math.round(t.records / info.seconds))} records/s` : '';
  const how =
    info.seconds !== undefined
      ? ` in ${info.seconds.toFixed(1)} s${info.workers ? ` on ${info.workers} worker${info.workers > 1 ? 's' : ''}` : ''}${rate}`
      : '';
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
  if (keys.length > 0) {
    out.push('By signing key:');
    const labels = keys.map(([id, k]) => `${shortKey(id)}${k.label ? ` "${safe(k.label)}"` : ''}`);
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
      'Note: no key was pinned, so "valid" means "someone signed this", not "we signed this". Pin keys with --public-key or --trust.',
    );
  }
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
            ? 'NOT THE EXPECTED STATE (--expect-state): rolled back or replaced; it was not used'
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
