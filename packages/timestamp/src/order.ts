import { ErstError, parseRfc3339 } from '@erst/core';
import { optionError } from './request.js';

/**
 * How far a record's own `timestamp` may be later than the TSA's genTime:
 * the signer's clock may run ahead of the TSA's by this much (5 minutes, the
 * skew attestation dates allow too). A record dated later than that claims
 * a time after the TSA saw it: its signer's clock is wrong, or its date is.
 */
export const TIMESTAMP_SKEW_MS = 5 * 60 * 1000;

function time(value: string | Date, option: string): number {
  const t = typeof value === 'string' ? parseRfc3339(value)?.getTime() : value instanceof Date ? value.getTime() : NaN;
  if (t === undefined || Number.isNaN(t)) throw optionError(option, 'must be an RFC 3339 time or a valid Date');
  return t;
}

/**
 * Checks that a record's `timestamp` is not later than the token's genTime
 * beyond `skewMs` (default TIMESTAMP_SKEW_MS). Call it once the token has
 * verified, with `timestamped_at`.
 *
 * @throws ERR_TIMESTAMP_BEFORE_RECORD; ERR_OPTIONS_INVALID naming
 *   `recordTimestamp`, `genTime` or `skewMs`.
 * @example checkTimestampOrder(record.timestamp, info.timestamped_at);
 */
export function checkTimestampOrder(
  recordTimestamp: string | Date,
  genTime: string | Date,
  skewMs: number = TIMESTAMP_SKEW_MS,
): void {
  const record = time(recordTimestamp, 'recordTimestamp');
  const gen = time(genTime, 'genTime');
  if (!Number.isFinite(skewMs) || skewMs < 0)
    throw optionError('skewMs', 'must be a non-negative number of milliseconds');
  if (record > gen + skewMs) {
    const ahead = Math.round((record - gen) / 1000);
    throw new ErstError(
      'ERR_TIMESTAMP_BEFORE_RECORD',
      `the TSA's genTime ${new Date(gen).toISOString()} is ${ahead} s before the record's timestamp ` +
        `${new Date(record).toISOString()}; at most ${skewMs / 1000} s of clock skew is allowed`,
      { details: { genTime: new Date(gen).toISOString(), recordTimestamp: new Date(record).toISOString(), skewMs } },
    );
  }
}
