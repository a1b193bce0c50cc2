import { describe, expect, it } from 'vitest';
import * as core from '../index.js';

describe('@erst/core public surface', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(core).sort()).toEqual(
      [
        'ALGORITHMS',
        'DEFAULT_MAX_INPUT_BYTES',
        'ERROR_CODES',
        'ErstError',
        'KEY_ATTRIBUTE_NAMES',
        'MAX_JSON_DEPTH',
        'MAX_LOG_PROOF_BYTES',
        'MAX_SIGN_MESSAGE_BYTES',
        'MAX_TIMESTAMP_TOKEN_BYTES',
        'PUBLIC_KEY_LENGTH',
        'RECORD_FORMATS',
        'base64ToBytes',
        'bytesToBase64',
        'bytesToHex',
        'canonicalize',
        'concatBytes',
        'detectFormat',
        'digestError',
        'equalBytes',
        'errorCategory',
        'escapeForDisplay',
        'generate',
        'generateWithSigner',
        'goString',
        'goStringSlice',
        'hasNativeSha256',
        'hashInputDigest',
        'hashInputLegacyTs',
        'hashInputTextLegacyTs',
        'hashInputTextV1_0',
        'hashInputTextV1_1',
        'hashInputTextV2',
        'hashInputTextV2_1',
        'hashInputV1_0',
        'hashInputV1_1',
        'hashInputV2',
        'hashInputV2_1',
        'hexToBytes',
        'internalError',
        'isErstError',
        'isLowerHex',
        'isRfc3339',
        'isTimestampTokenText',
        'messageError',
        'parseAttestation',
        'parseErstPayload',
        'parsePublicKey',
        'parseRecord',
        'parseRecordBytes',
        'parseRecordBytesAsync',
        'parseRfc3339',
        'parseSignDocument',
        'parseStrictJson',
        'publicKeyFromPem',
        'publicKeyFromRaw',
        'publicKeyFromSpki',
        'publicKeyId',
        'publicKeyToPem',
        'publicKeyToSpki',
        'scanCanonical',
        'seedSigner',
        'sha256',
        'sha256Utf8',
        'sha256Utf8Async',
        'timestampImprint',
        'utf8Bytes',
        'withLogProof',
        'withTimestampToken',
      ].sort(),
    );
  });

  it('error guards check the code, not the prototype, so two copies agree', () => {
    const foreign = Object.assign(new Error('x'), { name: 'ErstError', code: 'ERR_HASH_MISMATCH' });
    expect(core.isErstError(foreign)).toBe(true);
    expect(core.isErstError(foreign, 'ERR_HASH_MISMATCH')).toBe(true);
    expect(core.isErstError(foreign, 'ERR_SIGNATURE_INVALID')).toBe(false);
    expect(core.isErstError(Object.assign(new Error('x'), { name: 'ErstError', code: 'ERR_MADE_UP' }))).toBe(false);
    const e = new core.ErstError('ERR_PKCS11_PIN_INCORRECT', 'wrong PIN', { cause: new Error('CKR_PIN_INCORRECT') });
    expect(e.category).toBe('signer');
    expect((e.cause as Error).message).toBe('CKR_PIN_INCORRECT');
    expect(JSON.parse(JSON.stringify(e))).toEqual({ code: 'ERR_PKCS11_PIN_INCORRECT', message: 'wrong PIN' });
  });

  it('every code has a category', () => {
    for (const c of core.ERROR_CODES)
      expect(['input', 'verification', 'signer', 'usage', 'internal']).toContain(core.errorCategory(c));
  });
});
