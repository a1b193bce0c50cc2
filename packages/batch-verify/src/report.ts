import { bytesToHex, parsePublicKey, publicKeyId, sha256Utf8 } from '@erst/core';
import type { TrustPolicy, VerifyOptions } from '@erst/verify';
import { bump, bumpTimestamp, dict, summarize } from './outcome.js';
import type { ChunkSummary, RecordOutcome, TimestampCounts } from './protocol.js';
import type { Shard } from './shard.js';

export const REPORT_VERSION = 1;

export interface Counts {
  valid: number;
  invalid: number;
}

export interface KeyCounts extends Counts {
  algorithm: string;
  public_key: string;
  label?: string;
}

export type { TimestampCounts };

/**
 * Trusted timestamps (RFC 3161) over every record, and by signing key and by
 * day (the keys of `by_key` and `by_day`). A record is `timestamped` when a
 * token, its own or its log proof's checkpoint's, verified against a pinned
 * TSA root, whether or not the record is valid otherwise; `timestamped +
 * not_timestamped` is the number of records. `unverified` counts, among those
 * not timestamped, records carrying a token that was read but not verified
 * (no TSA root pinned, or it did not hold up).
 */
export interface TimestampSummary extends TimestampCounts {
  by_key: Record<string, TimestampCounts>;
  by_day: Record<string, TimestampCounts>;
}

export interface InputCounts extends Counts {
  unreadable: number;
}

/**
 * `record`: a record that failed verification or could not be read
 * (including a damaged archive member). `unreadable`: input that could not
 * be read at all. `state`: a difference from the previous run, or a state
 * file that cannot be trusted. `log`: the verifiable log failed, or archive
 * and log disagree (an entry without a record, a record not in the log).
 */
export type FailureKind = 'record' | 'unreadable' | 'state' | 'log';

export interface Failure {
  source: string;
  code: string;
  message: string;
  kind: FailureKind;
  /** The command-line input the source came from (null for state findings). */
  input: string | null;
  format?: string;
  key?: string;
  /** Every error, when there was more than one. */
  errors?: { code: string; message: string }[];
}

export interface StateSummary {
  files: string[];
  /** `baseline`: no previous state, this run recorded one. `compared`: diffed against it. `tampered`: not trusted, not diffed. */
  status: 'baseline' | 'compared' | 'tampered';
  previous_records: number;
  records: number;
  /** Whether the previous state's signature was checked against `state.key`. */
  signature_checked: boolean;
  /** Whether this run wrote a new state. */
  written: boolean;
  /**
   * The state in place after this run, per state file: the new one, or the
   * previous one when this run did not replace it (none when it is not
   * trusted). Keep `digest` outside the archive and pass it to the next run
   * as `state.expect`.
   */
  digests?: StateDigest[];
}

export interface StateDigest {
  file: string;
  sequence: number;
  digest: string;
  previous_digest: string | null;
}

/** What a run with a verifiable log (`log`) found: the log itself, and completeness both ways. */
export interface LogSummary {
  /** The log's directory or URL. */
  source: string;
  /**
   * `verified`: read and checked in full, complete both ways, consistent with
   * the state's checkpoint. `failed`: any of that is not so (see `failures`).
   * `unreadable`: the log could not be read at all (exit 2).
   */
  status: 'verified' | 'failed' | 'unreadable';
  /** The log's checkpoint (null when it could not be read). */
  origin: string | null;
  size: number | null;
  /** Root hash, base64 as in the checkpoint. */
  root: string | null;
  /** Log entries that have a record in the archive. */
  records_in_log: number;
  /** Indexes of log entries with no record in the archive. */
  missing: number[];
  /** Sources of records whose log proof names an entry this log does not have at that index. */
  not_in_log: string[];
  /** Distinct checkpoints the records' proofs lead to, each compared with the log once. */
  checkpoints: number;
  /** Sizes of those checkpoints whose root is not the log's root at that size: another history. */
  inconsistent_checkpoints: number[];
  /** With a state file: the checkpoint the previous run saw (null: none), and whether the log grew from it. */
  previous: { size: number; root: string } | null;
  consistent: boolean | null;
}

export interface TrustSummary {
  /** SHA-256 over the trust material: shard reports merge only when it agrees. */
  fingerprint: string;
  pinned_keys: number;
  attestation_roots: number;
  require_attestation: boolean;
  /** Pinned RFC 3161 TSA roots (options and trust files); absent when none are pinned and none are required. */
  tsa_roots?: number;
  /** Records without a verified timestamp token fail; absent as `tsa_roots` is. */
  require_timestamp?: boolean;
}

export interface Report {
  erst_batch_report: typeof REPORT_VERSION;
  inputs: string[];
  shard: string | null;
  /** For a merged report: the shards (or runs) it was merged from. */
  merged_from?: (string | null)[];
  trust: TrustSummary;
  /** 70 (EX_SOFTWARE): a record hit a bug (ERR_INTERNAL), so the run's verdict cannot be trusted. */
  exit_code: 0 | 1 | 2 | 70;
  totals: { records: number; valid: number; invalid: number; unreadable: number };
  by_format: Record<string, Counts>;
  by_key: Record<string, KeyCounts>;
  by_day: Record<string, Counts>;
  /** Valid records by how their key is trusted (pinned, attested, embedded-only). */
  by_trust: Record<string, number>;
  /** Failures by code (the first error of each record, and state findings). */
  by_code: Record<string, number>;
  by_input: Record<string, InputCounts>;
  /** Warnings by code, over all records. */
  warnings: Record<string, number>;
  /** Absent only from reports by an erst-batch that did not count timestamps yet (same report version). */
  timestamps?: TimestampSummary;
  failures: Failure[];
  state?: StateSummary;
  missing?: string[];
  changed?: string[];
  new?: string[];
  log?: LogSummary;
}

export function sortedRecord<T>(obj: Record<string, T>): Record<string, T> {
  const out = dict<T>();
  for (const k of Object.keys(obj).sort()) out[k] = obj[k]!;
  return out;
}

export function compareFailures(a: Failure, b: Failure): number {
  if (a.source !== b.source) return a.source < b.source ? -1 : 1;
  if (a.code !== b.code) return a.code < b.code ? -1 : 1;
  return a.message < b.message ? -1 : a.message > b.message ? 1 : 0;
}

export function exitCodeOf(
  r: Pick<Report, 'totals' | 'missing' | 'changed' | 'state'> & { by_code?: Report['by_code']; log?: LogSummary },
): Report['exit_code'] {
  // A bug wins over everything: the other outcomes may be wrong too.
  if ((r.by_code?.ERR_INTERNAL ?? 0) > 0) return 70;
  if (r.totals.unreadable > 0 || r.log?.status === 'unreadable') return 2;
  if (
    r.totals.invalid > 0 ||
    (r.missing?.length ?? 0) > 0 ||
    (r.changed?.length ?? 0) > 0 ||
    r.state?.status === 'tampered' ||
    (r.log !== undefined && r.log.status !== 'verified')
  )
    return 1;
  return 0;
}

function inc(map: Record<string, number>, key: string, by = 1): void {
  map[key] = (map[key] ?? 0) + by;
}

function addCounts(into: Record<string, Counts>, from: Record<string, Counts>): void {
  for (const [k, c] of Object.entries(from)) {
    const cur = into[k];
    if (cur) {
      cur.valid += c.valid;
      cur.invalid += c.invalid;
    } else {
      into[k] = { valid: c.valid, invalid: c.invalid };
    }
  }
}

const noTimestamps = (): TimestampCounts => ({ timestamped: 0, not_timestamped: 0, unverified: 0 });

function addTimestamps(into: TimestampCounts, c: TimestampCounts): void {
  into.timestamped += c.timestamped;
  into.not_timestamped += c.not_timestamped;
  into.unverified += c.unverified;
}

/** Adds `from`'s timestamp counts into `into`, entry by entry. */
export function addTimestampCounts(
  into: Record<string, TimestampCounts>,
  from: Readonly<Record<string, TimestampCounts>>,
): void {
  for (const [k, c] of Object.entries(from)) {
    into[k] ??= noTimestamps();
    addTimestamps(into[k], c);
  }
}

/** The report's `timestamps`: its totals are the sum over days, where every record is counted once. */
export function timestampSummary(
  byKey: Record<string, TimestampCounts>,
  byDay: Record<string, TimestampCounts>,
): TimestampSummary {
  const total = noTimestamps();
  for (const c of Object.values(byDay)) addTimestamps(total, c);
  return { ...total, by_key: sortedRecord(byKey), by_day: sortedRecord(byDay) };
}

/** Describes the trust material without repeating it; equal material gives an equal fingerprint. */
export function trustSummary(options: VerifyOptions): TrustSummary {
  const policies: TrustPolicy[] =
    options.trust === undefined ? [] : Array.isArray(options.trust) ? options.trust : [options.trust as TrustPolicy];
  const keys = [
    ...(options.publicKeys ?? []).map((k) => `${publicKeyId(typeof k === 'string' ? parsePublicKey(k) : k)}||`),
    ...policies.flatMap((p) =>
      p.keys.map(
        (k) =>
          `${publicKeyId(k.key)}|${k.label ?? ''}|${k.notBefore?.toISOString() ?? ''}|${k.notAfter?.toISOString() ?? ''}`,
      ),
    ),
  ].sort();
  const roots = [...(options.attestationRoots ?? []), ...policies.flatMap((p) => p.attestationRoots)]
    .map((r) => r.trim())
    .sort();
  const require = options.requireAttestation === true || policies.some((p) => p.requireAttestation);
  // Log keys decide which proofs verify; left out when none, so that fingerprints without them stay as they were.
  // A trust file's log_keys count too (node-io also passes them as options: those are not counted twice).
  const given = options.logKeys ?? [];
  const logKeys = [...given, ...policies.flatMap((p) => p.logKeys ?? []).filter((k) => !given.includes(k))].sort();
  // TSA roots and require_timestamp decide which timestamps count: the same rule.
  const tsaRoots = [...(options.tsaRoots ?? []), ...policies.flatMap((p) => p.tsaRoots ?? [])]
    .map((r) => r.trim())
    .sort();
  const requireTimestamp = options.requireTimestamp === true || policies.some((p) => p.requireTimestamp === true);
  const timestamps = tsaRoots.length > 0 || requireTimestamp;
  const material = {
    keys,
    roots,
    require,
    ...(logKeys.length > 0 ? { logKeys } : {}),
    ...(timestamps ? { tsaRoots, requireTimestamp } : {}),
  };
  const fingerprint = bytesToHex(sha256Utf8(JSON.stringify(material)));
  return {
    fingerprint,
    pinned_keys: new Set(keys.map((k) => k.split('|')[0])).size,
    attestation_roots: roots.length,
    require_attestation: require,
    ...(timestamps ? { tsa_roots: tsaRoots.length, require_timestamp: requireTimestamp } : {}),
  };
}

/** Collects outcomes as they arrive (in any order) into a report whose content does not depend on that order. */
export class ReportBuilder {
  readonly #inputs: string[];
  readonly #shard: string | null;
  readonly #trust: TrustSummary;
  readonly totals = { records: 0, valid: 0, invalid: 0, unreadable: 0 };
  readonly #byFormat = dict<Counts>();
  readonly #byKey = dict<KeyCounts>();
  readonly #byDay = dict<Counts>();
  readonly #byTrust = dict<number>();
  readonly #byCode = dict<number>();
  readonly #byInput = dict<InputCounts>();
  readonly #warnings = dict<number>();
  readonly #tsByKey = dict<TimestampCounts>();
  readonly #tsByDay = dict<TimestampCounts>();
  readonly #failures: Failure[] = [];

  constructor(inputs: string[], shard: Shard | null, trust: TrustSummary) {
    this.#inputs = inputs;
    this.#shard = shard ? `${shard.index}/${shard.count}` : null;
    this.#trust = trust;
    for (const i of inputs) this.#byInput[i] ??= { valid: 0, invalid: 0, unreadable: 0 };
  }

  #input(index: number): { name: string; counts: InputCounts } {
    const name = this.#inputs[index]!;
    return { name, counts: this.#byInput[name]! };
  }

  /** One record the verifier saw. */
  record(source: string, inputIndex: number, o: RecordOutcome): void {
    this.addChunk([source], [inputIndex], summarize([o], false));
  }

  /** A chunk of records, as a worker counted them. */
  addChunk(sources: readonly string[], inputIndexes: readonly number[], s: ChunkSummary): void {
    for (let i = 0; i < sources.length; i++) {
      const counts = this.#byInput[this.#inputs[inputIndexes[i]!]!]!;
      if (s.valid[i]) counts.valid++;
      else counts.invalid++;
    }
    const valid = s.valid.reduce((n, v) => n + v, 0);
    this.totals.records += sources.length;
    this.totals.valid += valid;
    this.totals.invalid += sources.length - valid;
    addCounts(this.#byFormat, s.byFormat);
    addCounts(this.#byDay, s.byDay);
    for (const [id, c] of Object.entries(s.byKey)) {
      let k = this.#byKey[id];
      if (!k) {
        const colon = id.indexOf(':');
        k = { algorithm: id.slice(0, colon), public_key: id.slice(colon + 1), valid: 0, invalid: 0 };
        this.#byKey[id] = k;
      }
      if (c.label !== undefined && k.label === undefined) k.label = c.label;
      k.valid += c.valid;
      k.invalid += c.invalid;
    }
    for (const [t, n] of Object.entries(s.byTrust)) inc(this.#byTrust, t, n);
    for (const [w, n] of Object.entries(s.warnings)) inc(this.#warnings, w, n);
    addTimestampCounts(this.#tsByKey, s.timestamps.byKey);
    addTimestampCounts(this.#tsByDay, s.timestamps.byDay);
    for (const f of s.failures) {
      const [code, message] = f.errors[0] ?? ['ERR_RECORD_UNKNOWN_FORMAT', 'the record failed verification'];
      inc(this.#byCode, code);
      const failure: Failure = {
        source: sources[f.index]!,
        code,
        message,
        kind: 'record',
        input: this.#inputs[inputIndexes[f.index]!]!,
      };
      if (f.format !== null) failure.format = f.format;
      if (f.key !== null) failure.key = f.key;
      if (f.errors.length > 1) failure.errors = f.errors.map(([c, m]) => ({ code: c, message: m }));
      this.#failures.push(failure);
    }
  }

  /** A record (scope `record`) or an input (scope `unreadable`) that could not be read. */
  unreadable(source: string, inputIndex: number, code: string, message: string, scope: 'record' | 'unreadable'): void {
    const { name, counts } = this.#input(inputIndex);
    if (scope === 'record') {
      this.totals.records++;
      this.totals.invalid++;
      counts.invalid++;
      bump(this.#byFormat, 'unknown', false);
      bump(this.#byDay, 'unknown', false);
      bumpTimestamp(this.#tsByDay, 'unknown', null);
    } else {
      this.totals.unreadable++;
      counts.unreadable++;
    }
    inc(this.#byCode, code);
    this.#failures.push({ source, code, message, kind: scope, input: name });
  }

  /** A state finding (missing, changed, tampered): a failure that is not a record. */
  stateFailure(source: string, code: string, message: string): void {
    inc(this.#byCode, code);
    this.#failures.push({ source, code, message, kind: 'state', input: null });
  }

  /** A log finding: the log failed, or archive and log disagree (`input`: the input of a record's source). */
  logFailure(source: string, code: string, message: string, input: number | null = null): void {
    inc(this.#byCode, code);
    this.#failures.push({ source, code, message, kind: 'log', input: input === null ? null : this.#inputs[input]! });
  }

  build(
    state?: { summary: StateSummary; missing: string[]; changed: string[]; added: string[] },
    log?: LogSummary,
  ): Report {
    const report: Report = {
      erst_batch_report: REPORT_VERSION,
      inputs: [...this.#inputs],
      shard: this.#shard,
      trust: this.#trust,
      exit_code: 0,
      totals: { ...this.totals },
      by_format: sortedRecord(this.#byFormat),
      by_key: sortedRecord(this.#byKey),
      by_day: sortedRecord(this.#byDay),
      by_trust: sortedRecord(this.#byTrust),
      by_code: sortedRecord(this.#byCode),
      by_input: sortedRecord(this.#byInput),
      warnings: sortedRecord(this.#warnings),
      timestamps: timestampSummary(this.#tsByKey, this.#tsByDay),
      failures: [...this.#failures].sort(compareFailures),
    };
    if (state) {
      report.state = state.summary;
      report.missing = [...state.missing].sort();
      report.changed = [...state.changed].sort();
      report.new = [...state.added].sort();
    }
    if (log) report.log = log;
    report.exit_code = exitCodeOf(report);
    return report;
  }
}
