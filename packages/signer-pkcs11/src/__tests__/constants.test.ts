import { bytesToHex } from '@erst/core';
import { describe, expect, it } from 'vitest';
import {
  CKM_EDDSA,
  EC_PARAMS_ED25519,
  EC_PARAMS_P256,
  describeKeyType,
  mechanismName,
  pivSlotForId,
  pk,
} from '../constants.js';
import { decodeEcPoint } from '../objects.js';

describe('PKCS#11 constants pkcs11js lacks', () => {
  it('names EdDSA mechanisms by their PKCS#11 3.0 values, and 0x1050 as ECDH', () => {
    expect(mechanismName(CKM_EDDSA)).toBe('CKM_EDDSA');
    expect(mechanismName(0x1055)).toBe('CKM_EC_EDWARDS_KEY_PAIR_GEN');
    expect(mechanismName(0x1050)).toBe('CKM_ECDH1_DERIVE');
    expect(mechanismName(pk.CKM_ECDSA)).toBe('CKM_ECDSA');
    expect(mechanismName(0x7fff_fff0)).toBe('0x7ffffff0');
  });

  it('uses the PrintableString "edwards25519" and the P-256 OID as EC params', () => {
    expect(Buffer.from(EC_PARAMS_ED25519.subarray(2)).toString('latin1')).toBe('edwards25519');
    expect(bytesToHex(EC_PARAMS_P256)).toBe('06082a8648ce3d030107');
  });

  it('describes key types', () => {
    expect(describeKeyType(0x40, EC_PARAMS_ED25519)).toBe('ed25519');
    expect(describeKeyType(0x40, Buffer.from('06032b6570', 'hex'))).toBe('ed25519');
    expect(describeKeyType(pk.CKK_EC, EC_PARAMS_P256)).toBe('ecdsa-p256');
    expect(describeKeyType(pk.CKK_EC, Buffer.from('06052b81040022', 'hex'))).toBe('ec-p384');
    expect(describeKeyType(pk.CKK_RSA, undefined, 256)).toBe('rsa-2048');
  });

  it('maps ykcs11 CKA_IDs back to PIV slots', () => {
    expect(pivSlotForId(Uint8Array.of(2))).toBe('9c');
    expect(pivSlotForId(Uint8Array.of(25))).toBe('f9');
    expect(pivSlotForId(Uint8Array.of(26))).toBeUndefined();
    expect(pivSlotForId(Uint8Array.of(1, 2))).toBeUndefined();
  });
});

describe('decodeEcPoint', () => {
  const ed = new Uint8Array(32).fill(7);
  const p = Uint8Array.from([4, ...new Uint8Array(64).fill(9)]);

  it('accepts DER OCTET STRING-wrapped and raw Ed25519 points', () => {
    expect(decodeEcPoint(Uint8Array.from([4, 32, ...ed]), 'ed25519')).toEqual(ed);
    expect(decodeEcPoint(ed, 'ed25519')).toEqual(ed);
  });

  it('accepts wrapped and raw uncompressed P-256 points', () => {
    expect(decodeEcPoint(Uint8Array.from([4, 65, ...p]), 'ecdsa-p256')).toEqual(p);
    expect(decodeEcPoint(Uint8Array.from([4, 0x81, 65, ...p]), 'ecdsa-p256')).toEqual(p);
    expect(decodeEcPoint(p, 'ecdsa-p256')).toEqual(p);
  });

  it('refuses wrong sizes and compressed points', () => {
    expect(decodeEcPoint(new Uint8Array(31), 'ed25519')).toBeUndefined();
    expect(decodeEcPoint(Uint8Array.from([4, 33, ...new Uint8Array(33)]), 'ed25519')).toBeUndefined();
    expect(decodeEcPoint(Uint8Array.from([2, ...new Uint8Array(32)]), 'ecdsa-p256')).toBeUndefined();
    expect(decodeEcPoint(Uint8Array.from([4, 65, 2, ...new Uint8Array(64)]), 'ecdsa-p256')).toBeUndefined();
  });
});
