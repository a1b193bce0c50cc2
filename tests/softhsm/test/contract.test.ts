import { describeSignerContract } from '@erst/signer-contract';
import { generateTokenKeyPair, openPkcs11Signer } from '@erst/signer-pkcs11';
import { createSoftHsm } from './softhsm.js';

// The same suite signer-memory passes, against keys made on a real SoftHSM token.
const hsm = createSoftHsm('contract');
const base = { module: hsm.module, tokenLabel: hsm.label, pin: hsm.pin };
await generateTokenKeyPair({ ...base, label: 'contract-ed25519', algorithm: 'ed25519' });
await generateTokenKeyPair({ ...base, label: 'contract-p256', algorithm: 'ecdsa-p256' });

describeSignerContract('Pkcs11Signer, Ed25519 on SoftHSM', () =>
  openPkcs11Signer({ ...base, keyLabel: 'contract-ed25519' }),
);
describeSignerContract('Pkcs11Signer, ECDSA P-256 on SoftHSM', () =>
  openPkcs11Signer({ ...base, keyLabel: 'contract-p256', poolSize: 3 }),
);
// With signing threads (what erst audit sign --batch opens).
describeSignerContract('Pkcs11Signer with threads, Ed25519 on SoftHSM', () =>
  openPkcs11Signer({ ...base, keyLabel: 'contract-ed25519', threads: true }),
);
describeSignerContract('Pkcs11Signer with threads, ECDSA P-256 on SoftHSM', () =>
  openPkcs11Signer({ ...base, keyLabel: 'contract-p256', poolSize: 3, threads: true }),
);
