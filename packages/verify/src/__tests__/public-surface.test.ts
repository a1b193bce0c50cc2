import { describe, expect, it } from 'vitest';
import * as verify from '../index.js';

describe('@erst/verify public surface', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(verify).sort()).toEqual(
      [
        'ErstError',
        'TrustIndex',
        'VERIFY_ERROR_CODES',
        'VERIFY_WARNING_CODES',
        'Verifier',
        'checkAttestationRoot',
        'checkEd25519PublicKey',
        'describeRecord',
        'describeRecordText',
        'describeResultText',
        'isErstError',
        'isLowS',
        'isMalformed',
        'isVerifyErrorCode',
        'nobleBackend',
        'parseTrustFile',
        'selectBackend',
        'signatureIsStrictlyEncoded',
        'unreadableResult',
        'verifiedCheckpointNote',
        'verifyAuditLog',
        'verifyMany',
        'verifyP256',
        'withinWindow',
      ].sort(),
    );
  });

  it('never throws for bad input: problems come back as coded errors', async () => {
    for (const input of ['', '{', '[]', '{"version":"9.9.9"}', new Uint8Array([0xff]), { version: '2.0.0' }]) {
      const r = await verify.verifyAuditLog(input);
      expect(r.valid).toBe(false);
      expect(r.errors.length).toBeGreaterThan(0);
      expect(verify.VERIFY_ERROR_CODES).toContain(r.errors[0]!.code);
      expect(r.errors[0]!.code).not.toBe('ERR_INTERNAL');
    }
  });
});
