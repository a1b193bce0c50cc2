import { describe, expect, it } from 'vitest';
import * as api from '../index.js';

describe('@erst/signer-pkcs11 public surface', () => {
  it('exports exactly the documented names', () => {
    expect(Object.keys(api).sort()).toEqual(
      [
        'CKK_EC_EDWARDS',
        'CKM_EC_EDWARDS_KEY_PAIR_GEN',
        'CKM_EDDSA',
        'EC_PARAMS_ED25519',
        'EC_PARAMS_P256',
        'PIV_ATTESTATION_LABEL',
        'PIV_SLOT_IDS',
        'PKCS11_ENV',
        'Pkcs11Signer',
        'decodeEcPoint',
        'describeHsmInfoText',
        'defaultPoolSize',
        'findAttestationLeaf',
        'generateTokenKeyPair',
        'hsmInfo',
        'mechanismName',
        'openPkcs11Signer',
        'parseAlgorithm',
        'parseCertificateBundle',
        'parseKeyId',
        'parsePivSlot',
        'parseSlot',
        'pivSlotForId',
        'pkcs11ConfigFromEnv',
        'signingMechanisms',
      ].sort(),
    );
  });

  it('has the PKCS#11 3.0 EdDSA values', () => {
    expect([api.CKK_EC_EDWARDS, api.CKM_EC_EDWARDS_KEY_PAIR_GEN, api.CKM_EDDSA]).toEqual([0x40, 0x1055, 0x1057]);
  });

  it('refuses to open without a module, before touching any library', async () => {
    await expect(api.openPkcs11Signer({ keyLabel: 'k', pin: '1234' })).rejects.toMatchObject({
      code: 'ERR_PKCS11_MODULE',
    });
  });
});
