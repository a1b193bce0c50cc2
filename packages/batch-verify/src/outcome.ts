import { bytesToHex, sha256 } from '@erst/core';
import type { TimestampReport, VerifyResult } from '@erst/verify';
import type { ChunkSummary, Counts, RecordOutcome, TimestampCounts } from './protocol.js';

/** UTC calendar day (YYYY-MM-DD) of an RFC 3339 timestamp. */
export function utcDay(ts: string | null): string | null {
  // erst-ts records carry any string in trace.timestamp: only dates count.
  if (ts === null || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(ts)) return null;
  if (ts.endsWith('Z')) return ts.slice(0, 10);
  // Date takes at most milliseconds; the offset moves the day.
  const d = new Date(ts.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

/**
 * Whether a record is timestamped (RFC 3161): its own `timestamp_token`, or
 * its log proof's checkpoint's, verified against a pinned TSA root. A token
 * read but not verified (no TSA root pinned, or it did not hold up after
 * parsing) is `unverified`.
 */
export function timestampOf(r: Pick<VerifyResult, 'timestamp_token' | 'log'>): RecordOutcome['timestamp'] {
  // Read without relying on LogReport.timestamp (new in @erst/verify): a result without it has no checkpoint token.
  const onLog = (r.log as { timestamp?: TimestampReport | null } | null)?.timestamp;
  // Once per record: no array made for the two of them.
  const own = r.timestamp_token;
  if (own?.verified || onLog?.verified) return 'verified';
  return own != null || onLog != null ? 'unverified' : null;
}

export function toOutcome(r: VerifyResult, bytes: Uint8Array, contentHash: boolean): RecordOutcome {
  return {
    valid: r.valid,
    format: r.format,
    key: r.key ? `${r.key.algorithm}:${r.key.public_key}` : null,
    label: r.key?.label ?? null,
    trust: r.trust,
    day: utcDay(r.timestamp),
    timestamp: timestampOf(r),
    traceHash: r.trace_hash,
    contentHash: contentHash ? bytesToHex(sha256(bytes)) : null,
    errors: r.errors.map((e) => [e.code, e.message]),
    warnings: r.warnings.map((w) => w.code),
  };
}

/**
 * A map keyed by strings from the archive or the command line (input names,
 * keys, days, codes): no prototype, so that a key "__proto__" is an entry
 * like any other instead of rewiring the object.
 */
export function dict<T>(): Record<string, T> {
  return Object.create(null) as Record<string, T>;
}

export function bump(map: Record<string, Counts>, key: string, valid: boolean): Counts {
  let c = map[key];
  if (!c) {
    c = { valid: 0, invalid: 0 };
    map[key] = c;
  }
  if (valid) c.valid++;
  else c.invalid++;
  return c;
}

/** Counts one record in `map[key]`: timestamped or not, and of those not, whether a token was there unverified. */
export function bumpTimestamp(
  map: Record<string, TimestampCounts>,
  key: string,
  timestamp: RecordOutcome['timestamp'],
): void {
  let c = map[key];
  if (!c) {
    c = { timestamped: 0, not_timestamped: 0, unverified: 0 };
    map[key] = c;
  }
  if (timestamp === 'verified') c.timestamped++;
  else c.not_timestamped++;
  if (timestamp === 'unverified') c.unverified++;
}

/** Counts a chunk's outcomes; keeps per-record detail only for failures (and hashes for a state file). */
export function summarize(outcomes: readonly RecordOutcome[], withHashes: boolean): ChunkSummary {
  const s: ChunkSummary = {
    valid: new Uint8Array(outcomes.length),
    byFormat: dict(),
    byKey: dict(),
    byDay: dict(),
    byTrust: dict(),
    warnings: dict(),
    timestamps: { byKey: dict(), byDay: dict() },
    failures: [],
  };
  if (withHashes) {
    s.traceHashes = [];
    s.contentHashes = [];
  }
  outcomes.forEach((o, i) => {
    if (o.valid) {
      s.valid[i] = 1;
      s.byTrust[o.trust] = (s.byTrust[o.trust] ?? 0) + 1;
    } else {
      s.failures.push({ index: i, format: o.format, key: o.key, errors: o.errors });
    }
    bump(s.byFormat, o.format ?? 'unknown', o.valid);
    bump(s.byDay, o.day ?? 'unknown', o.valid);
    bumpTimestamp(s.timestamps.byDay, o.day ?? 'unknown', o.timestamp);
    if (o.key !== null) {
      const k = bump(s.byKey, o.key, o.valid) as Counts & { label?: string };
      if (o.label !== null && k.label === undefined) k.label = o.label;
      bumpTimestamp(s.timestamps.byKey, o.key, o.timestamp);
    }
    for (const w of o.warnings) s.warnings[w] = (s.warnings[w] ?? 0) + 1;
    s.traceHashes?.push(o.traceHash ?? '');
    s.contentHashes?.push(o.contentHash ?? '');
  });
  return s;
}

/**
 * `summarize(records, false)` for records that share a few outcomes:
 * `outcomes` holds each distinct one once, in the order records first have
 * it, and `of[i]` is record i's. The same summary, counted once per distinct
 * outcome rather than once per record.
 */
export function summarizeShared(outcomes: readonly RecordOutcome[], of: ArrayLike<number>): ChunkSummary {
  const s = summarize([], false);
  s.valid = new Uint8Array(of.length);
  const counts = new Array<number>(outcomes.length).fill(0);
  for (let i = 0; i < of.length; i++) {
    const o = outcomes[of[i]!]!;
    counts[of[i]!]!++;
    if (o.valid) s.valid[i] = 1;
    else s.failures.push({ index: i, format: o.format, key: o.key, errors: o.errors });
  }
  const add = (map: Record<string, Counts>, key: string, valid: boolean, n: number): Counts => {
    map[key] ??= { valid: 0, invalid: 0 };
    const c = map[key];
    if (valid) c.valid += n;
    else c.invalid += n;
    return c;
  };
  const addTimestamp = (
    map: Record<string, TimestampCounts>,
    key: string,
    t: RecordOutcome['timestamp'],
    n: number,
  ) => {
    map[key] ??= { timestamped: 0, not_timestamped: 0, unverified: 0 };
    const c = map[key];
    if (t === 'verified') c.timestamped += n;
    else c.not_timestamped += n;
    if (t === 'unverified') c.unverified += n;
  };
  outcomes.forEach((o, j) => {
    const n = counts[j]!;
    if (n === 0) return;
    if (o.valid) s.byTrust[o.trust] = (s.byTrust[o.trust] ?? 0) + n;
    add(s.byFormat, o.format ?? 'unknown', o.valid, n);
    add(s.byDay, o.day ?? 'unknown', o.valid, n);
    addTimestamp(s.timestamps.byDay, o.day ?? 'unknown', o.timestamp, n);
    if (o.key !== null) {
      const k = add(s.byKey, o.key, o.valid, n) as Counts & { label?: string };
      if (o.label !== null && k.label === undefined) k.label = o.label;
      addTimestamp(s.timestamps.byKey, o.key, o.timestamp, n);
    }
    for (const w of o.warnings) s.warnings[w] = (s.warnings[w] ?? 0) + n;
  });
  return s;
}

/**
 * The records of a chunk as views of its buffer (no copy): record `i` is the
 * bytes from `ends[i - 1]` (0 for the first) to `ends[i]`. How a chunk
 * travels between threads, in erst-batch and in the page alike.
 */
export function recordViews(buffer: ArrayBuffer, ends: ArrayLike<number>): Uint8Array[] {
  const views: Uint8Array[] = [];
  let start = 0;
  for (let i = 0; i < ends.length; i++) {
    views.push(new Uint8Array(buffer, start, ends[i]! - start));
    start = ends[i]!;
  }
  return views;
}
