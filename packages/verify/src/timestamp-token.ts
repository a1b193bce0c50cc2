import { type SignedRecord, bytesToHex, equalBytes, hexToBytes, isErstError, sha256, utf8Bytes } from '@erst/core';
import { type VerifyErrorCode, type WarningCode, isVerifyErrorCode } from './codes.js';

/** What a 2.1.0 record's `timestamp_token` (or its log checkpoint's token) says, and whether it held up. */
export interface TimestampReport {
  /** genTime, ISO 8601 UTC: when the TSA says it saw the record's `trace_hash` (or the checkpoint's note text). */
  timestamped_at: string;
  /** The TSA certificate's subject name (as the token states it, when not verified). */
  tsa: string | null;
  /** The TSA's stated accuracy of genTime in milliseconds, or null. */
  accuracy: number | null;
  /**
   * The token verified against a pinned TSA root and is over this record's
   * `trace_hash` (or its checkpoint's note text), and the record's own
   * `timestamp` is not later than genTime: only then is `timestamped_at` the
   * TSA's word, and key validity windows are checked against it instead of
   * the record's own `timestamp` (a checkpoint's, for a record without a
   * token of its own).
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

/** What a token says about its imprint alone, before any record's own `timestamp` is compared with genTime. */
interface TokenCheck {
  report: TimestampReport | null;
  genTime: Date | undefined;
  errors: TimestampOutcome['errors'];
  warnings: TimestampOutcome['warnings'];
}

/** What a token is over: a record's `trace_hash`, or a log checkpoint's note text (the proof's `extra` token). */
interface Subject {
  /** The 32-byte SHA-256 the token must be over. */
  imprint: Uint8Array;
  /** "the record" or "the record's log checkpoint": who carries the token, in messages. */
  carrier: string;
  /** What the imprint is the hash of, in messages. */
  over: string;
  /** Prefix of an error's message. */
  prefix: string;
}

/**
 * Checks a token against `subject.imprint` with @erst/timestamp: over that
 * hash and chaining to one of `tsaRoots`. Without pinned roots the token is
 * read, not trusted: a warning says so (as for an attestation without roots),
 * and a token that does not even parse is an error.
 *
 * @erst/timestamp caches the chain check per distinct TSA chain and root set,
 * so each further token from one TSA costs one CMS signature.
 */
async function checkToken(
  token: string | Uint8Array,
  subject: Subject,
  tsaRoots: readonly string[],
  ts: TimestampModule,
): Promise<TokenCheck> {
  const out: TokenCheck = { report: null, genTime: undefined, errors: [], warnings: [] };
  try {
    if (tsaRoots.length === 0) {
      const c = ts.inspectTimestampToken(token);
      out.report = { timestamped_at: c.genTime, tsa: c.signer, accuracy: c.accuracy, verified: false };
      const elsewhere = c.hashAlgorithm !== 'SHA-256' || c.imprint !== bytesToHex(subject.imprint);
      out.warnings.push({
        code: 'WARN_TIMESTAMP_NOT_CHECKED',
        message:
          `${subject.carrier} carries a timestamp token (genTime ${c.genTime}), but no TSA root was pinned: its time ` +
          `is unproven${elsewhere ? ` (and it is not over ${subject.over})` : ''}`,
      });
      return out;
    }
    const info = await ts.verifyTimestampToken(token, { imprint: subject.imprint, tsaRoots });
    out.report = { timestamped_at: info.timestamped_at, tsa: info.tsa, accuracy: info.accuracy, verified: true };
    out.genTime = new Date(info.timestamped_at);
  } catch (e) {
    out.errors.push(tokenIssue(e, subject.prefix));
  }
  return out;
}

/** The package's verification codes are this package's too; anything else is a bug (ERR_INTERNAL, upstream). */
function tokenIssue(e: unknown, prefix: string): { code: VerifyErrorCode; message: string } {
  if (!isErstError(e) || !e.code.startsWith('ERR_TIMESTAMP_') || !isVerifyErrorCode(e.code)) throw e;
  return { code: e.code, message: `${prefix}: ${e.message}` };
}

/**
 * The record's own `timestamp` may not be later than a verified token's
 * genTime beyond the package's stated skew. A fresh outcome: `check` may be
 * shared by every record under one checkpoint.
 */
function ordered(
  check: TokenCheck,
  recordTimestamp: string | undefined,
  prefix: string,
  ts: TimestampModule,
): TimestampOutcome {
  const out: TimestampOutcome = {
    report: check.report && { ...check.report },
    genTime: check.genTime,
    errors: [...check.errors],
    warnings: [...check.warnings],
  };
  // Records with a token are 2.1.0, whose `timestamp` the parser requires.
  if (out.report?.verified && recordTimestamp !== undefined) {
    try {
      ts.checkTimestampOrder(recordTimestamp, out.report.timestamped_at);
    } catch (e) {
      out.errors.push(tokenIssue(e, prefix));
      out.report.verified = false;
      out.genTime = undefined;
    }
  }
  return out;
}

/**
 * Checks a 2.1.0 record's `timestamp_token` (`rec.timestampToken`, set): the
 * token must be over the record's `trace_hash` and chain to one of
 * `tsaRoots`, and the record's own `timestamp` may not be later than genTime
 * beyond the package's stated skew.
 */
export async function checkTimestampToken(
  rec: SignedRecord & { timestampToken: string },
  tsaRoots: readonly string[],
  ts: TimestampModule,
): Promise<TimestampOutcome> {
  const prefix = 'timestamp token';
  // What core's timestampImprint gives a signer: the 32 bytes of trace_hash (64 hex characters, as parsed).
  const subject = {
    imprint: hexToBytes(rec.claimedHash)!,
    carrier: 'the record',
    over: "this record's trace_hash",
    prefix,
  };
  return ordered(await checkToken(rec.timestampToken, subject, tsaRoots, ts), rec.timestamp, prefix, ts);
}

/**
 * A log checkpoint's timestamp token (a tlog-proof's `extra` line), checked
 * once per distinct checkpoint text and token: every record under one
 * checkpoint shares it, and pays only the comparison with its own `timestamp`.
 */
export class CheckpointTokens {
  readonly #checks = new Map<string, { token: Uint8Array; check: Promise<TokenCheck> }[]>();

  /**
   * The token must be over SHA-256 of `noteText` (the checkpoint's signed
   * text, without its signature lines) and chain to one of `tsaRoots`; then
   * as for a record's own token.
   */
  async check(
    token: Uint8Array,
    noteText: string,
    recordTimestamp: string | undefined,
    tsaRoots: readonly string[],
    ts: TimestampModule,
  ): Promise<TimestampOutcome> {
    let seen = this.#checks.get(noteText);
    let entry = seen?.find((c) => equalBytes(c.token, token));
    if (!entry) {
      const subject = {
        imprint: sha256(utf8Bytes(noteText)),
        carrier: "the record's log checkpoint",
        over: "the checkpoint's note text",
        prefix: 'checkpoint timestamp token',
      };
      entry = { token, check: checkToken(token, subject, tsaRoots, ts) };
      if (!seen) {
        if (this.#checks.size >= 256) this.#checks.clear();
        seen = [];
        this.#checks.set(noteText, seen);
      }
      // A checkpoint is timestamped once; a handful of different tokens over one text is all an archive holds.
      if (seen.length >= 16) seen.length = 0;
      seen.push(entry);
    }
    return ordered(await entry.check, recordTimestamp, 'checkpoint timestamp token', ts);
  }
}
