/**
 * One error class with stable string codes. Codes are part of the public API:
 * they are never renamed, only added. Callers check `code` (via `isErstError`),
 * not `instanceof`, so two installed copies of this package still agree.
 */

/** What kind of failure a code is: the CLIs map this to their exit codes. */
export type ErrorCategory = 'input' | 'verification' | 'signer' | 'usage' | 'internal';

const CODES = {
  // Reading and parsing input (exit 2)
  ERR_INPUT_EMPTY: 'input',
  ERR_INPUT_TOO_LARGE: 'input',
  ERR_INPUT_NOT_UTF8: 'input',
  ERR_JSON_SYNTAX: 'input',
  ERR_JSON_DUPLICATE_KEY: 'input',
  ERR_JSON_LONE_SURROGATE: 'input',
  ERR_JSON_NOT_I_JSON: 'input',
  ERR_JSON_NUMBER_PRECISION: 'input',
  ERR_JSON_TOO_DEEP: 'input',
  ERR_RECORD_NOT_OBJECT: 'input',
  ERR_RECORD_UNKNOWN_FORMAT: 'input',
  ERR_RECORD_UNSUPPORTED_VERSION: 'input',
  ERR_RECORD_FIELD_MISSING: 'input',
  ERR_RECORD_FIELD_TYPE: 'input',
  ERR_RECORD_FIELD_FORMAT: 'input',
  ERR_RECORD_FIELD_UNKNOWN: 'input',
  ERR_RECORD_NO_SIGNATURE_OR_PROOF: 'input',
  ERR_ALGORITHM_UNSUPPORTED: 'input',
  ERR_PAYLOAD_INVALID: 'input',
  ERR_FILE_NOT_FOUND: 'input',
  ERR_FILE_IS_DIRECTORY: 'input',
  ERR_FILE_UNREADABLE: 'input',
  ERR_TRUST_FILE_INVALID: 'input',
  ERR_PUBLIC_KEY_FORMAT: 'input',
  ERR_ARCHIVE_CORRUPT: 'input',
  ERR_ARCHIVE_EMPTY: 'input',
  ERR_ARCHIVE_UNKNOWN_KIND: 'input',
  ERR_FILE_NOT_REGULAR: 'input',
  ERR_FILE_OUTSIDE_ROOT: 'input',
  ERR_OPTIONS_INVALID: 'input',
  ERR_CRYPTO_UNAVAILABLE: 'input',
  ERR_NOTE_MALFORMED: 'input',
  ERR_NOTE_TOO_LARGE: 'input',
  ERR_TLOG_LINE_TOO_LONG: 'input',
  ERR_TLOG_BASE64_NONCANONICAL: 'input',
  ERR_VERIFIER_KEY_INVALID: 'input',
  ERR_CHECKPOINT_MALFORMED: 'input',
  ERR_TLOG_PROOF_MALFORMED: 'input',
  ERR_LOG_FETCH_FAILED: 'input',

  // Verification outcomes (exit 1)
  ERR_HASH_MISMATCH: 'verification',
  ERR_SIGNATURE_INVALID: 'verification',
  ERR_PUBLIC_KEY_WEAK: 'verification',
  ERR_KEY_NOT_TRUSTED: 'verification',
  ERR_KEY_OUTSIDE_VALIDITY: 'verification',
  ERR_ATTESTATION_REQUIRED: 'verification',
  ERR_ATTESTATION_INVALID: 'verification',
  ERR_ATTESTATION_MALFORMED: 'verification',
  ERR_ATTESTATION_CHAIN_SIGNATURE: 'verification',
  ERR_ATTESTATION_NOT_CA: 'verification',
  ERR_ATTESTATION_LEAF_IS_CA: 'verification',
  ERR_ATTESTATION_PATH_LENGTH: 'verification',
  ERR_ATTESTATION_KEY_USAGE: 'verification',
  ERR_ATTESTATION_EXPIRED: 'verification',
  ERR_ATTESTATION_NOT_YET_VALID: 'verification',
  ERR_ATTESTATION_UNTRUSTED_ROOT: 'verification',
  ERR_ATTESTATION_KEY_MISMATCH: 'verification',
  ERR_ATTESTATION_CHAIN_ORDER: 'verification',
  ERR_ATTESTATION_DUPLICATE_CERT: 'verification',
  ERR_ATTESTATION_TOO_MANY_CERTS: 'verification',
  ERR_STATE_MISSING: 'verification',
  ERR_STATE_CHANGED: 'verification',
  ERR_STATE_TAMPERED: 'verification',
  ERR_STATE_ROLLBACK: 'verification',
  ERR_NOTE_UNVERIFIED: 'verification',
  ERR_NOTE_SIGNATURE_INVALID: 'verification',
  ERR_CHECKPOINT_ORIGIN_MISMATCH: 'verification',
  ERR_TLOG_TILE_INVALID: 'verification',
  ERR_TLOG_BUNDLE_INVALID: 'verification',
  ERR_TLOG_ROOT_MISMATCH: 'verification',
  ERR_TLOG_PROOF_INDEX_MISMATCH: 'verification',
  ERR_TLOG_INCLUSION_INVALID: 'verification',
  ERR_TLOG_CONSISTENCY_INVALID: 'verification',
  ERR_LOG_NOT_SIGNED_BY_RECORD_KEY: 'verification',
  ERR_LOG_RECORD_NOT_IN_LOG: 'verification',
  ERR_LOG_ENTRY_MISSING: 'verification',
  ERR_LOG_CHECKPOINT_MISMATCH: 'verification',
  ERR_TIMESTAMP_MALFORMED: 'verification',
  ERR_TIMESTAMP_IMPRINT_MISMATCH: 'verification',
  ERR_TIMESTAMP_NONCE_MISMATCH: 'verification',
  ERR_TIMESTAMP_SIGNATURE_INVALID: 'verification',
  ERR_TIMESTAMP_TSA_EKU: 'verification',
  ERR_TIMESTAMP_UNTRUSTED_ROOT: 'verification',
  ERR_TIMESTAMP_CHAIN_INVALID: 'verification',
  ERR_TIMESTAMP_BEFORE_RECORD: 'verification',
  ERR_TIMESTAMP_REQUIRED: 'verification',

  // Signing keys and hardware (exit 3)
  ERR_KEY_MISSING: 'signer',
  ERR_KEY_PEM_INVALID: 'signer',
  ERR_KEY_ENCRYPTED: 'signer',
  ERR_KEY_NOT_ED25519: 'signer',
  ERR_KEY_HEX_INVALID: 'signer',
  ERR_KEY_FILE_UNREADABLE: 'signer',
  ERR_SIGNER_FAILED: 'signer',
  ERR_SIGNER_SELF_CHECK: 'signer',
  ERR_SIGNER_CLOSED: 'signer',
  ERR_PKCS11_MODULE: 'signer',
  ERR_PKCS11_NO_TOKEN: 'signer',
  ERR_PKCS11_TOKEN_NOT_FOUND: 'signer',
  ERR_PKCS11_PIN_MISSING: 'signer',
  ERR_PKCS11_PIN_INCORRECT: 'signer',
  ERR_PKCS11_PIN_LOCKED: 'signer',
  ERR_PKCS11_KEY_NOT_FOUND: 'signer',
  ERR_PKCS11_KEY_MISMATCH: 'signer',
  ERR_PKCS11_MECHANISM: 'signer',
  ERR_PKCS11_SESSION: 'signer',
  ERR_PKCS11: 'signer',
  ERR_ATTESTATION_UNAVAILABLE: 'signer',
  ERR_NOTE_SIGNER_UNSUPPORTED: 'signer',
  ERR_TSA_UNREACHABLE: 'signer',
  ERR_TSA_HTTP_ERROR: 'signer',
  ERR_TSA_REJECTED: 'signer',
  ERR_TSA_RESPONSE_MALFORMED: 'signer',

  // Command-line usage (exit 2)
  ERR_USAGE: 'usage',
  ERR_SIGNER_DIGEST_INVALID: 'usage',
  ERR_SIGNER_MESSAGE_INVALID: 'usage',
  ERR_OUTPUT_WRITE: 'usage',
  ERR_LOG_LOCKED: 'usage',
  ERR_LOG_EXISTS: 'usage',

  // An unexpected exception (a bug), never disguised as bad input (exit 70, EX_SOFTWARE)
  ERR_INTERNAL: 'internal',
} as const satisfies Record<string, ErrorCategory>;

export type ErrorCode = keyof typeof CODES;

export const ERROR_CODES: readonly ErrorCode[] = Object.freeze(Object.keys(CODES) as ErrorCode[]);

export function errorCategory(code: ErrorCode): ErrorCategory {
  return CODES[code];
}

/**
 * Wraps an exception nobody expected (a TypeError from a bug, a crypto
 * backend failing in a way it never should) as ERR_INTERNAL, keeping its
 * message and the original as `cause`. An ErstError passes through unchanged.
 */
export function internalError(error: unknown): ErstError {
  if (isErstError(error)) return error;
  // The class name says what kind of bug it was (TypeError, RangeError); plain Error adds nothing.
  const message =
    error instanceof Error
      ? error.name && error.name !== 'Error'
        ? `${error.name}: ${error.message}`
        : error.message
      : String(error);
  return new ErstError('ERR_INTERNAL', message, { cause: error });
}

export interface ErstErrorOptions {
  cause?: unknown;
  /** Structured facts for machine output (field path, file, line, ...). Never secrets. */
  details?: Record<string, unknown>;
}

export class ErstError extends Error {
  override readonly name = 'ErstError';
  readonly code: ErrorCode;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: ErstErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options.details;
  }

  get category(): ErrorCategory {
    return errorCategory(this.code);
  }

  toJSON(): { code: ErrorCode; message: string; details?: Record<string, unknown> } {
    return this.details
      ? { code: this.code, message: this.message, details: this.details }
      : { code: this.code, message: this.message };
  }
}

/** True for an ErstError from any installed copy of this package (checks shape, not prototype). */
export function isErstError(value: unknown, code?: ErrorCode): value is ErstError {
  if (typeof value !== 'object' || value === null) return false;
  const v = value as { name?: unknown; code?: unknown };
  // Own properties only: `in` would take inherited names such as "toString" for codes.
  if (v.name !== 'ErstError' || typeof v.code !== 'string' || !Object.hasOwn(CODES, v.code)) return false;
  return code === undefined || v.code === code;
}
