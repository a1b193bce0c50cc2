import type { ErrorCode } from '@erst/core';

/*
 * Every code a VerifyResult's `errors` can hold, and nothing else: the
 * README documents each one (a test keeps the two lists equal). Codes are
 * only ever added, never renamed or dropped.
 */
const ERRORS = [
  // The input is not a record (VerifyResult.format is null)
  'ERR_INPUT_EMPTY',
  'ERR_INPUT_TOO_LARGE',
  'ERR_INPUT_NOT_UTF8',
  'ERR_JSON_SYNTAX',
  'ERR_JSON_DUPLICATE_KEY',
  'ERR_JSON_LONE_SURROGATE',
  'ERR_JSON_NOT_I_JSON',
  'ERR_JSON_NUMBER_PRECISION',
  'ERR_JSON_TOO_DEEP',
  'ERR_RECORD_NOT_OBJECT',
  'ERR_RECORD_UNKNOWN_FORMAT',
  'ERR_RECORD_UNSUPPORTED_VERSION',
  'ERR_RECORD_FIELD_MISSING',
  'ERR_RECORD_FIELD_TYPE',
  'ERR_RECORD_FIELD_FORMAT',
  'ERR_RECORD_FIELD_UNKNOWN',
  'ERR_RECORD_NO_SIGNATURE_OR_PROOF',
  'ERR_ALGORITHM_UNSUPPORTED',
  // The caller's reading failed (unreadableResult)
  'ERR_FILE_NOT_FOUND',
  'ERR_FILE_IS_DIRECTORY',
  'ERR_FILE_UNREADABLE',
  'ERR_FILE_NOT_REGULAR',
  // Integrity
  'ERR_HASH_MISMATCH',
  'ERR_SIGNATURE_INVALID',
  'ERR_PUBLIC_KEY_WEAK',
  // A 2.1.0 record's log proof (@erst/tlog's codes, and one of this package's)
  'ERR_TLOG_PROOF_MALFORMED',
  'ERR_TLOG_LINE_TOO_LONG',
  'ERR_TLOG_BASE64_NONCANONICAL',
  'ERR_NOTE_TOO_LARGE',
  'ERR_NOTE_MALFORMED',
  'ERR_CHECKPOINT_MALFORMED',
  'ERR_NOTE_UNVERIFIED',
  'ERR_NOTE_SIGNATURE_INVALID',
  'ERR_CHECKPOINT_ORIGIN_MISMATCH',
  'ERR_TLOG_INCLUSION_INVALID',
  'ERR_LOG_NOT_SIGNED_BY_RECORD_KEY',
  // A 2.1.0 record's timestamp token (@erst/timestamp's codes, and one of this package's)
  'ERR_TIMESTAMP_MALFORMED',
  'ERR_TIMESTAMP_IMPRINT_MISMATCH',
  'ERR_TIMESTAMP_TSA_EKU',
  'ERR_TIMESTAMP_UNTRUSTED_ROOT',
  'ERR_TIMESTAMP_CHAIN_INVALID',
  'ERR_TIMESTAMP_SIGNATURE_INVALID',
  'ERR_TIMESTAMP_BEFORE_RECORD',
  'ERR_TIMESTAMP_REQUIRED',
  // Trust
  'ERR_KEY_NOT_TRUSTED',
  'ERR_KEY_OUTSIDE_VALIDITY',
  'ERR_ATTESTATION_REQUIRED',
  // Hardware attestation, checked against pinned roots
  'ERR_ATTESTATION_INVALID',
  'ERR_ATTESTATION_MALFORMED',
  'ERR_ATTESTATION_TOO_MANY_CERTS',
  'ERR_ATTESTATION_DUPLICATE_CERT',
  'ERR_ATTESTATION_CHAIN_ORDER',
  'ERR_ATTESTATION_CHAIN_SIGNATURE',
  'ERR_ATTESTATION_NOT_CA',
  'ERR_ATTESTATION_LEAF_IS_CA',
  'ERR_ATTESTATION_PATH_LENGTH',
  'ERR_ATTESTATION_KEY_USAGE',
  'ERR_ATTESTATION_EXPIRED',
  'ERR_ATTESTATION_NOT_YET_VALID',
  'ERR_ATTESTATION_UNTRUSTED_ROOT',
  'ERR_ATTESTATION_KEY_MISMATCH',
  // A bug, not bad input
  'ERR_INTERNAL',
] as const satisfies readonly ErrorCode[];

/** A code in VerifyResult.errors. */
export type VerifyErrorCode = (typeof ERRORS)[number];

export const VERIFY_ERROR_CODES: readonly VerifyErrorCode[] = Object.freeze([...ERRORS]);

const WARNINGS = [
  'WARN_KEY_NOT_PINNED',
  'WARN_UNCOVERED_FIELDS',
  'WARN_WINDOW_ON_UNSIGNED_TIMESTAMP',
  'WARN_ATTESTATION_NOT_CHECKED',
  'WARN_PARSED_OBJECT_INPUT',
  'WARN_LOG_PROOF_UNCHECKED',
  'WARN_TIMESTAMP_NOT_CHECKED',
] as const;

/** A code in VerifyResult.warnings. */
export type WarningCode = (typeof WARNINGS)[number];

/** Every code a VerifyResult's `warnings` can hold; the README documents each one. */
export const VERIFY_WARNING_CODES: readonly WarningCode[] = Object.freeze([...WARNINGS]);

const ERROR_SET: ReadonlySet<string> = new Set(VERIFY_ERROR_CODES);

/** Whether `code` is one a VerifyResult can carry in `errors`. */
export function isVerifyErrorCode(code: unknown): code is VerifyErrorCode {
  return typeof code === 'string' && ERROR_SET.has(code);
}
