import { ErstError } from '@erst/core';
import { readInputFile } from '@erst/node-io';
import { dict } from './outcome.js';
import {
  type Counts,
  type Failure,
  type InputCounts,
  type KeyCounts,
  REPORT_VERSION,
  type Report,
  type StateSummary,
  type TimestampCounts,
  type TimestampSummary,
  addTimestampCounts,
  compareFailures,
  exitCodeOf,
  sortedRecord,
  timestampSummary,
} from './report.js';

/** Shard reports list every failure: far larger than any record may be. */
const MAX_REPORT_BYTES = 1 << 30;

/**
 * The reports given to merge do not make one report: ERR_OPTIONS_INVALID
 * naming `reports`, the argument they came in. The message names the report
 * (the caller's name for it, a file name from erst-batch), never its content.
 */
function reportError(name: string, why: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', `${name}: ${why}`, { details: { options: ['reports'], report: name } });
}

/**
 * What the names a report counts by look like when erst-batch wrote them.
 * The human summary prints them as they are (codes, formats, trust levels,
 * key ids, days): a report from elsewhere must not bring text of its own there.
 */
const NAMES = {
  by_format: /^[a-z0-9][a-z0-9.-]{0,31}$/,
  by_key: /^[a-z0-9-]{1,32}:[0-9a-f]{1,1024}$/,
  by_day: /^(?:[-+0-9]{1,16}|unknown)$/,
  by_trust: /^[a-z][a-z-]{0,31}$/,
  by_code: /^[A-Z][A-Z0-9_]{0,63}$/,
  warnings: /^[A-Z][A-Z0-9_]{0,63}$/,
} as const;
const FAILURE_KINDS: readonly string[] = ['record', 'unreadable', 'state', 'log'] satisfies Failure['kind'][];

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isCounts = (v: unknown): boolean =>
  typeof v === 'object' && v !== null && isCount((v as Counts).valid) && isCount((v as Counts).invalid);

const isTimestampCounts = (v: unknown): v is TimestampCounts =>
  typeof v === 'object' &&
  v !== null &&
  isCount((v as TimestampCounts).timestamped) &&
  isCount((v as TimestampCounts).not_timestamped) &&
  isCount((v as TimestampCounts).unverified) &&
  (v as TimestampCounts).unverified <= (v as TimestampCounts).not_timestamped;

/** Why a report's `timestamps` is not what erst-batch writes, or null. */
function timestampsProblem(ts: TimestampSummary, records: number): string | null {
  if (!isTimestampCounts(ts) || ts.timestamped + ts.not_timestamped !== records)
    return '"timestamps" must count every record once';
  for (const field of ['by_key', 'by_day'] as const) {
    const map = ts[field];
    if (typeof map !== 'object' || map === null || Array.isArray(map)) return `"timestamps.${field}" is missing`;
    for (const [k, v] of Object.entries(map)) {
      if (!NAMES[field].test(k)) return `"timestamps.${field}" holds a name erst-batch does not write`;
      if (!isTimestampCounts(v)) return `"timestamps.${field}" must hold counts`;
    }
  }
  return null;
}

/** Why a report is not one erst-batch wrote, or null when it has the shape merge relies on. */
function reportProblem(r: Partial<Report>): string | null {
  const objects = [
    'totals',
    'by_format',
    'by_key',
    'by_day',
    'by_trust',
    'by_code',
    'by_input',
    'warnings',
    'trust',
  ] as const;
  for (const k of objects) {
    if (typeof r[k] !== 'object' || r[k] === null || Array.isArray(r[k])) return `"${k}" is missing`;
  }
  if (!Array.isArray(r.inputs) || !Array.isArray(r.failures)) return '"inputs" and "failures" must be arrays';
  if (!r.inputs.every((i) => typeof i === 'string')) return '"inputs" must be names';
  const t = r.totals!;
  if (![t.records, t.valid, t.invalid, t.unreadable].every(isCount)) return '"totals" must be counts';
  if (r.shard !== null && (typeof r.shard !== 'string' || !/^\d{1,6}\/\d{1,6}$/.test(r.shard)))
    return '"shard" must be null or K/N';
  for (const [field, pattern] of Object.entries(NAMES) as [keyof typeof NAMES, RegExp][]) {
    for (const [k, v] of Object.entries(r[field]!)) {
      if (!pattern.test(k)) return `"${field}" holds a name erst-batch does not write`;
      if (field === 'by_trust' || field === 'by_code' || field === 'warnings' ? !isCount(v) : !isCounts(v))
        return `"${field}" must hold counts`;
    }
  }
  for (const v of Object.values(r.by_input!))
    if (!isCounts(v) || !isCount((v as InputCounts).unreadable)) return '"by_input" must hold counts';
  for (const f of r.failures) {
    const ok =
      typeof f === 'object' &&
      f !== null &&
      typeof f.source === 'string' &&
      typeof f.message === 'string' &&
      NAMES.by_code.test(String(f.code)) &&
      FAILURE_KINDS.includes(f.kind) &&
      (f.input === null || typeof f.input === 'string');
    if (!ok) return '"failures" holds an entry erst-batch does not write';
  }
  if (r.timestamps !== undefined) return timestampsProblem(r.timestamps, t.records);
  return null;
}

/**
 * Checks the shape merge relies on; a report from elsewhere is refused, not
 * half-merged. Throws ERR_OPTIONS_INVALID (`reports`) naming `name`.
 */
export function checkReport(value: unknown, name: string): Report {
  const r = value as Partial<Report>;
  if (typeof r !== 'object' || r === null || r.erst_batch_report !== REPORT_VERSION) {
    throw reportError(name, `not an erst-batch report (version ${REPORT_VERSION})`);
  }
  const problem = reportProblem(r);
  if (problem) throw reportError(name, problem);
  return r as Report;
}

/**
 * Reads and checks one shard report (a file a run's report was written to as
 * JSON). Never quotes its content: a parse error says only that it is not
 * JSON. Throws the `@erst/node-io` file codes, or ERR_OPTIONS_INVALID (`reports`).
 */
export function readReport(name: string): Report {
  const text = readInputFile(name, MAX_REPORT_BYTES).toString('utf8');
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch {
    throw reportError(name, 'not JSON');
  }
  return checkReport(value, name);
}

function addCounts<T extends Counts>(
  into: Record<string, T>,
  from: Record<string, T>,
  extra?: (a: T, b: T) => void,
): void {
  for (const [k, v] of Object.entries(from)) {
    const cur = into[k];
    if (!cur) {
      into[k] = { ...v };
    } else {
      cur.valid += v.valid;
      cur.invalid += v.invalid;
      extra?.(cur, v);
    }
  }
}

function addNumbers(into: Record<string, number>, from: Record<string, number>): void {
  for (const [k, v] of Object.entries(from)) into[k] = (into[k] ?? 0) + v;
}

const STATUS_RANK: Record<StateSummary['status'], number> = { compared: 0, baseline: 1, tampered: 2 };

type Named = { name: string; report: Report };

/**
 * Combines shard reports into the report one unsharded run would have made:
 * counts summed, failures and state lists unioned. Input-level problems
 * (a path no shard could read) are seen by every shard and counted once.
 * Throws ERR_OPTIONS_INVALID naming `reports` when they do not make one run.
 */
export function mergeReports(reports: readonly Named[]): Report {
  const first = checkMergeable(reports);
  const sharded = first.shard !== null;
  const counts = mergeCounts(reports);
  const failures = mergeFailures(reports, counts);
  const merged: Report = {
    erst_batch_report: REPORT_VERSION,
    inputs: sharded ? [...first.inputs] : [...new Set(reports.flatMap((r) => r.report.inputs))],
    shard: null,
    merged_from: reports.map((r) => r.report.shard),
    trust: first.trust,
    exit_code: 0,
    totals: counts.totals,
    by_format: sortedRecord(counts.byFormat),
    by_key: sortedRecord(counts.byKey),
    by_day: sortedRecord(counts.byDay),
    by_trust: sortedRecord(counts.byTrust),
    by_code: sortedRecord(failures.byCode),
    by_input: sortedRecord(counts.byInput),
    warnings: sortedRecord(counts.warnings),
    failures: failures.list.sort(compareFailures),
  };
  if (first.timestamps) merged.timestamps = mergeTimestamps(reports);
  const state = mergeStateSummaries(reports);
  if (state) {
    merged.state = state.summary;
    merged.missing = state.missing;
    merged.changed = state.changed;
    merged.new = state.added;
  }
  merged.exit_code = exitCodeOf(merged);
  return merged;
}

/**
 * Refuses reports that are not the parts of one run: different trust, a mix
 * of sharded and unsharded, a merged report, and for shards different inputs
 * or a shard given twice or left out (its records would go unreported).
 * Returns the first report, which the others must agree with.
 */
function checkMergeable(reports: readonly Named[]): Report {
  if (reports.length === 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', 'name at least one report to merge (`reports` is empty)', {
      details: { options: ['reports'] },
    });
  }
  const first = reports[0]!.report;
  const sharded = first.shard !== null;
  const seenShards = new Set<string>();
  let shardCount: number | undefined;
  for (const { name, report } of reports) {
    if (report.trust.fingerprint !== first.trust.fingerprint) {
      throw reportError(
        name,
        'was made with different trust material (keys, roots) than the first report; shards must share one trust configuration',
      );
    }
    if ((report.shard !== null) !== sharded) throw reportError(name, 'mixes sharded and unsharded reports');
    if (report.merged_from) throw reportError(name, 'is already a merged report');
    if ((report.timestamps === undefined) !== (first.timestamps === undefined)) {
      throw reportError(
        name,
        `${report.timestamps ? 'counts' : 'does not count'} trusted timestamps and the first report ${first.timestamps ? 'does' : 'does not'}; merge reports of one erst-batch version`,
      );
    }
    // Completeness against a log is one whole run's finding: a merge could only lose it.
    if (report.log) throw reportError(name, 'checked a verifiable log, which is not split into parts to merge');
    if (!sharded) continue;
    if (JSON.stringify(report.inputs) !== JSON.stringify(first.inputs)) {
      throw reportError(
        name,
        'was made from different inputs than the first report; every shard must be given the same inputs',
      );
    }
    const n = Number(report.shard!.split('/')[1]);
    shardCount ??= n;
    if (n !== shardCount)
      throw reportError(name, `is shard ${report.shard}, but the first report is one of ${shardCount}`);
    if (seenShards.has(report.shard!)) throw reportError(name, `shard ${report.shard} is given twice`);
    seenShards.add(report.shard!);
  }
  const absent: string[] = [];
  for (let k = 1; k <= (shardCount ?? 0); k++)
    if (!seenShards.has(`${k}/${shardCount}`)) absent.push(`${k}/${shardCount}`);
  if (absent.length > 0) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `shard report${absent.length > 1 ? 's' : ''} ${absent.join(', ')} missing: a merge needs every shard, or records would go unreported`,
      { details: { options: ['reports'], missing: absent } },
    );
  }
  return first;
}

interface MergedCounts {
  totals: Report['totals'];
  byFormat: Record<string, Counts>;
  byKey: Record<string, KeyCounts>;
  byDay: Record<string, Counts>;
  byTrust: Record<string, number>;
  byInput: Record<string, InputCounts>;
  warnings: Record<string, number>;
}

function inputCounts(byInput: Record<string, InputCounts>, name: string): InputCounts {
  let c = byInput[name];
  if (!c) {
    c = { valid: 0, invalid: 0, unreadable: 0 };
    byInput[name] = c;
  }
  return c;
}

/** Record counts add up: every record belongs to exactly one shard. */
function mergeCounts(reports: readonly Named[]): MergedCounts {
  const m: MergedCounts = {
    totals: { records: 0, valid: 0, invalid: 0, unreadable: 0 },
    byFormat: dict(),
    byKey: dict(),
    byDay: dict(),
    byTrust: dict(),
    byInput: dict(),
    warnings: dict(),
  };
  for (const { report } of reports) {
    m.totals.records += report.totals.records;
    m.totals.valid += report.totals.valid;
    m.totals.invalid += report.totals.invalid;
    addCounts(m.byFormat, report.by_format);
    addCounts(m.byKey, report.by_key, (a, b) => {
      if (a.label === undefined && b.label !== undefined) a.label = b.label;
    });
    addCounts(m.byDay, report.by_day);
    addNumbers(m.byTrust, report.by_trust);
    addNumbers(m.warnings, report.warnings);
    for (const [k, v] of Object.entries(report.by_input)) {
      const cur = inputCounts(m.byInput, k);
      cur.valid += v.valid;
      cur.invalid += v.invalid;
    }
  }
  return m;
}

/** Timestamp counts add up like record counts (checkMergeable saw that every report has them). */
function mergeTimestamps(reports: readonly Named[]): TimestampSummary {
  const byKey = dict<TimestampCounts>();
  const byDay = dict<TimestampCounts>();
  for (const { report } of reports) {
    addTimestampCounts(byKey, report.timestamps!.by_key);
    addTimestampCounts(byDay, report.timestamps!.by_day);
  }
  return timestampSummary(byKey, byDay);
}

/**
 * Failures are unioned, except that an input no shard could read is one
 * problem seen by every shard (each tries to open every input): it is
 * reported, and counted as unreadable, once.
 */
function mergeFailures(
  reports: readonly Named[],
  counts: MergedCounts,
): { list: Failure[]; byCode: Record<string, number> } {
  const list: Failure[] = [];
  const byCode = dict<number>();
  const unreadableSeen = new Set<string>();
  for (const { report } of reports) {
    for (const f of report.failures) {
      if (f.kind === 'unreadable') {
        const id = `${f.source}\u0000${f.code}`;
        if (unreadableSeen.has(id)) continue;
        unreadableSeen.add(id);
        counts.totals.unreadable++;
        if (f.input !== null) inputCounts(counts.byInput, f.input).unreadable++;
      }
      byCode[f.code] = (byCode[f.code] ?? 0) + 1;
      list.push(f);
    }
  }
  return { list, byCode };
}

/**
 * Each shard keeps its own state file: the merged summary lists them all,
 * takes the worst status, and says "checked" or "written" only when every
 * shard's was; missing, changed and new records are unioned.
 */
function mergeStateSummaries(
  reports: readonly Named[],
): { summary: StateSummary; missing: string[]; changed: string[]; added: string[] } | undefined {
  const missing = new Set<string>();
  const changed = new Set<string>();
  const added = new Set<string>();
  let state: StateSummary | undefined;
  for (const { report } of reports) {
    for (const s of report.missing ?? []) missing.add(s);
    for (const s of report.changed ?? []) changed.add(s);
    for (const s of report.new ?? []) added.add(s);
    if (!report.state) continue;
    if (!state) {
      state = { ...report.state, files: [...report.state.files] };
      continue;
    }
    state.files.push(...report.state.files);
    if (STATUS_RANK[report.state.status] > STATUS_RANK[state.status]) state.status = report.state.status;
    state.previous_records += report.state.previous_records;
    state.records += report.state.records;
    state.signature_checked &&= report.state.signature_checked;
    state.written &&= report.state.written;
    if (report.state.digests) state.digests = [...(state.digests ?? []), ...report.state.digests];
  }
  if (!state) return undefined;
  return {
    summary: { ...state, files: [...state.files].sort() },
    missing: [...missing].sort(),
    changed: [...changed].sort(),
    added: [...added].sort(),
  };
}
