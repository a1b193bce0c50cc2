import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '@erst/signer-pkcs11';
import { createSoftHsm } from './softhsm.js';

/**
 * @erst/signer-pkcs11 as npm users get it. Its README example needs a token,
 * so both checks live here, next to the SoftHSM machinery, rather than in the
 * package's own unit tests.
 */
describe('@erst/signer-pkcs11 as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', async () => {
    const packed = await packPackage('signer-pkcs11');
    expect(tarballProblems(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('signer-pkcs11', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs on a SoftHSM token, printing what its comments say", async () => {
    const hsm = createSoftHsm('readme-tests');
    await surface.generateTokenKeyPair({
      module: hsm.module,
      tokenLabel: hsm.label,
      pin: hsm.pin,
      label: 'readme key',
      algorithm: 'ed25519',
    });
    const r = await runReadmeExample('signer-pkcs11', { env: { ...hsm.env, ERST_PKCS11_KEY_LABEL: 'readme key' } });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('ed25519 true pinned\n');
  });
});
