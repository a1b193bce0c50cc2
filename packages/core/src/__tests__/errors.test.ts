import { describe, expect, it } from 'vitest';
import { ERROR_CODES, ErstError, errorCategory, internalError, isErstError } from '../index.js';

/**
 * Codes are public API: scripts and third parties match on them. This list is
 * frozen: a code may be added to errors.ts (and then here), never renamed,
 * dropped or moved to another category (that would change an exit status).
 */
const FROZEN = {
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
  ERR_USAGE: 'usage',
  ERR_SIGNER_DIGEST_INVALID: 'usage',
  ERR_SIGNER_MESSAGE_INVALID: 'usage',
  ERR_OUTPUT_WRITE: 'usage',
  ERR_LOG_LOCKED: 'usage',
  ERR_LOG_EXISTS: 'usage',
  ERR_INTERNAL: 'internal',
} as const;

describe('error codes', () => {
  it('keeps every published code, in its category', () => {
    for (const [code, category] of Object.entries(FROZEN)) {
      expect(ERROR_CODES, code).toContain(code);
      expect(errorCategory(code as keyof typeof FROZEN), code).toBe(category);
    }
  });

  it('lists every code here, so a new one is a deliberate addition to this file', () => {
    expect([...ERROR_CODES].sort()).toEqual(Object.keys(FROZEN).sort());
  });

  it('cannot be changed at run time', () => {
    expect(Object.isFrozen(ERROR_CODES)).toBe(true);
  });
});

describe('isErstError', () => {
  it('accepts an ErstError, and checks the code when asked', () => {
    const e = new ErstError('ERR_HASH_MISMATCH', 'x');
    expect(isErstError(e)).toBe(true);
    expect(isErstError(e, 'ERR_HASH_MISMATCH')).toBe(true);
    expect(isErstError(e, 'ERR_SIGNATURE_INVALID')).toBe(false);
  });

  it('accepts the same shape from another installed copy of the package', () => {
    expect(isErstError({ name: 'ErstError', code: 'ERR_USAGE', message: 'm' })).toBe(true);
  });

  it('refuses inherited property names as codes', () => {
    for (const code of ['toString', 'constructor', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(isErstError({ name: 'ErstError', code }), code).toBe(false);
    }
  });

  it('refuses values that are not error-shaped', () => {
    for (const v of [null, undefined, 'ERR_USAGE', 42, { code: 'ERR_USAGE' }, new Error('ERR_USAGE')]) {
      expect(isErstError(v)).toBe(false);
    }
  });
});

describe('internalError', () => {
  it('turns an unexpected exception into ERR_INTERNAL with its message and the original as cause', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'raw')");
    const e = internalError(bug);
    expect(e.code).toBe('ERR_INTERNAL');
    expect(e.category).toBe('internal');
    expect(e.message).toBe("TypeError: Cannot read properties of undefined (reading 'raw')");
    expect(e.cause).toBe(bug);
    expect(internalError('thrown string').message).toBe('thrown string');
    expect(internalError(new Error('plain')).message).toBe('plain');
  });

  it('leaves an ErstError as it is', () => {
    const e = new ErstError('ERR_JSON_SYNTAX', 'bad');
    expect(internalError(e)).toBe(e);
  });
});
