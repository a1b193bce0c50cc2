import { createHash } from 'node:crypto';
import type { VerifyResult } from '@erst/verify';
import type { RecordOutcome } from './protocol.js';

/** UTC calendar day (YYYY-MM-DD) of an RFC 3339 timestamp. */
export function utcDay(ts: string | null): string | null {
  // erst-ts records carry any string in trace.timestamp: only dates count.
  if (ts === null || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}/.test(ts)) return null;
  if (ts.endsWith('Z')) return ts.slice(0, 10);
  // Date takes at most milliseconds; the offset moves the day.
  const d = new Date(ts.replace(/(\.\d{3})\d+/, '$1'));
  return Number.isNaN(d.getTime()) ? null : d.toISOString().slice(0, 10);
}

export function toOutcome(r: VerifyResult, bytes: Uint8Array, contentHash: boolean): RecordOutcome {
  return {
    valid: r.valid,
    format: r.format,
    key: r.key ? `${r.key.algorithm}:${r.key.public_key}` : null,
    label: r.key?.label ?? null,
    trust: r.trust,
    day: utcDay(r.timestamp),
    traceHash: r.trace_hash,
    contentHash: contentHash ? createHash('sha256').update(bytes).digest('hex') : null,
    errors: r.errors.map((e) => [e.code, e.message]),
    warnings: r.warnings.map((w) => w.code),
  };
}
