import { describe, expect, it } from 'vitest';
import type { HsmInfo } from '../admin.js';
import { describeHsmInfoText } from '../describe-text.js';

const INFO: HsmInfo = {
  module: {
    path: '/usr/lib/softhsm/libsofthsm2.so',
    cryptoki_version: '3.0',
    manufacturer: 'SoftHSM',
    description: 'Implementation of PKCS11',
    library_version: '2.6',
  },
  slots: [
    {
      index: 0,
      slot_id: '0x1a',
      description: 'SoftHSM slot',
      manufacturer: 'SoftHSM',
      token: {
        label: 'erst',
        manufacturer: 'SoftHSM project',
        model: 'SoftHSM v2',
        serial: '',
        initialized: true,
        flags: ['CKF_RNG', 'CKF_LOGIN_REQUIRED'],
        hardware_version: '2.6',
        firmware_version: '2.6',
        mechanisms: [
          {
            name: 'CKM_EDDSA',
            code: '0x1057',
            supported: true,
            sign: true,
            verify: true,
            min_key_size: 255,
            max_key_size: 255,
          },
          { name: 'CKM_ECDSA', code: '0x1041', supported: false },
        ],
        mechanism_count: 60,
      },
    },
    { index: 1, slot_id: '0x2', description: 'empty slot', manufacturer: 'SoftHSM', token: null },
  ],
  selected_slot: 0,
  logged_in: false,
  keys: [{ class: 'public', label: 'audit', id: '0a', algorithm: 'ed25519', local: true, extractable: true }],
  certificates: [],
  notes: ['log in (`pin`) to list private keys'],
};

describe('describeHsmInfoText', () => {
  it('lists the module, each slot, the mechanisms erst needs, and the keys; notes go through `note`', () => {
    expect(describeHsmInfoText(INFO, (n) => n.replace('`pin`', '--pin-file'))).toEqual([
      'module /usr/lib/softhsm/libsofthsm2.so: SoftHSM, "Implementation of PKCS11" 2.6 (Cryptoki 3.0)',
      'slot 0 (ID 0x1a): token "erst", model SoftHSM v2, serial -, SoftHSM project',
      '  flags: CKF_RNG CKF_LOGIN_REQUIRED',
      '  mechanisms: CKM_EDDSA (sign/verify, 255-255 bits), CKM_ECDSA (not offered); 60 in all',
      'slot 1 (ID 0x2): uninitialized token (empty slot)',
      'objects on "erst" (slot 0), public only:',
      '  public  key "audit" ID 0a ed25519: local EXTRACTABLE',
      'note: log in (--pin-file) to list private keys',
    ]);
  });

  it('says when no slot holds a token, and leaves notes as they are without `note`', () => {
    const none = { ...INFO, slots: [], selected_slot: null, keys: [] };
    expect(describeHsmInfoText(none)).toEqual([
      'module /usr/lib/softhsm/libsofthsm2.so: SoftHSM, "Implementation of PKCS11" 2.6 (Cryptoki 3.0)',
      'no slot holds a token',
      'note: log in (`pin`) to list private keys',
    ]);
  });
});
