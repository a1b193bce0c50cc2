import { type SignedRecord, hexToBytes, isErstError } from '@erst/core';
import { type VerifyErrorCode, type WarningCode, isVerifyErrorCode } from './codes.js';

/** What a 2.1.0 record's `timestamp_token` says, and whether it held up. */
export interface TimestampReport {
  /** genTime, ISO 8601 UTC: when the TSA says it saw the record's `trace_hash`. */
  timestamped_at: string;
  /** The TSA certificate's subject name (as the token states it, when not verified). */
  tsa: string | null;
  /** The TSA's stated accuracy of genTime in milliseconds, or null. */
  accuracy: number | null;
  /**
   * The token verified against a pinned TSA root and is over this record's
   * `trace_hash`: only then is `timestamped_at` the TSA's word, and key
   * validity windows are checked against it instead of the record's own
   * `timestamp`.
   */
  verified: boolean;
}

export interface TimestampOutcome {
  report: TimestampReport | null;
  /** genTime when the token verified, else undefined. */
  genTime: Date | undefined;
  errors: { code: VerifyErrorCode; message: string }[];
  warnings: { code: WarningCode; message: string }[];
}

type TimestampModule = typeof import('@erst/timestamp');

/**
 * Checks a 2.1.0 record's `timestamp_token` (`rec.timestampToken`, set) with
 * @erst/timestamp: the token must be over the record's `trace_hash` and chain
 * to one of `tsaRoots`, and the record's own `timestamp` may not be later than
 * genTime beyond the package's stated skew. Without pinned roots the token is
 * read, not trusted: a warning says so (as for an attestation without roots),
 * and a token that does not even parse is an error.
 *
 * @erst/timestamp caches the chain check per distinct TSA chain and root set,
 * so each further token from one TSA costs one CMS signature.
 */
export async function checkTimestampToken(
  rec: SignedRecord & { timestampToken: string },
  tsaRoots: readonly string[],
  ts: TimestampModule,
): Promise<TimestampOutcome> {
  const out: TimestampOutcome = { report: null, genTime: undefined, errors: [], warnings: [] };
  // What core's timestampImprint gives a signer: the 32 bytes of trace_hash (64 hex characters, as parsed).
  const imprint = hexToBytes(rec.claimedHash)!;
  try {
    if (tsaRoots.length === 0) {
      const c = ts.inspectTimestampToken(rec.timestampToken);
      out.report = { timestamped_at: c.genTime, tsa: c.signer, accuracy: c.accuracy, verified: false };
      const elsewhere = c.hashAlgorithm !== 'SHA-256' || c.imprint !== rec.claimedHash;
      out.warnings.push({
        code: 'WARN_TIMESTAMP_NOT_CHECKED',
        message:
          `the record carries a timestamp token (genTime ${c.genTime}), but no TSA root was pinned: its time is ` +
          `unproven${elsewhere ? " (and it is not over this record's trace_hash)" : ''}`,
      });
      return out;
    }
    const info = await ts.verifyTimestampToken(rec.timestampToken, { imprint, tsaRoots });
    out.report = { timestamped_at: info.timestamped_at, tsa: info.tsa, accuracy: info.accuracy, verified: false };
    // Records with a token are 2.1.0, whose `timestamp` the parser requires.
    if (rec.timestamp !== undefined) ts.checkTimestampOrder(rec.timestamp, info.timestamped_at);
    out.report.verified = true;
    out.genTime = new Date(info.timestamped_at);
  } catch (e) {
    // The package's verification codes are this package's too; anything else is a bug (ERR_INTERNAL, upstream).
    if (!isErstError(e) || !e.code.startsWith('ERR_TIMESTAMP_') || !isVerifyErrorCode(e.code)) throw e;
    out.errors.push({ code: e.code, message: `timestamp token: ${e.message}` });
  }
  return out;
}
