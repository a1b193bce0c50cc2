import { TestCa, attestationFor } from '@erst/test-ca';
import * as x509 from '@peculiar/x509';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { AT, ED25519_KEY, NOW, p256Key } from './helpers.js';

/**
 * package.json declares that only dist/x509.js (the reflect-metadata import
 * @peculiar/x509 needs) has side effects. Importing @erst/attestation must
 * not change @peculiar/x509's process-wide default crypto provider, which an
 * application may have set to something else; verification passes WebCrypto
 * to each call instead.
 */
describe('@erst/attestation has no global side effects on import', () => {
  afterEach(() => {
    x509.cryptoProvider.set(globalThis.crypto);
  });

  it("leaves @peculiar/x509's default crypto provider alone, and verifies chains without one", async () => {
    // The test CA needs the provider to issue certificates: build the chains first.
    const ca = await TestCa.create({ now: NOW });
    const p256 = await p256Key();
    const chains = [
      { attestation: attestationFor(await ca.chain(ED25519_KEY)), publicKey: ED25519_KEY },
      { attestation: attestationFor(await ca.chain(p256)), publicKey: p256 },
    ];

    x509.cryptoProvider.clear();
    vi.resetModules();
    const { verifyAttestation } = await import('../index.js');
    expect(x509.cryptoProvider.has('default')).toBe(false);

    for (const { attestation, publicKey } of chains) {
      const r = await verifyAttestation({ attestation, publicKey, roots: [ca.rootPem], times: AT });
      expect(r.errors).toEqual([]);
      expect(r.attested).toBe(true);
    }
    expect(x509.cryptoProvider.has('default')).toBe(false);
  });
});
