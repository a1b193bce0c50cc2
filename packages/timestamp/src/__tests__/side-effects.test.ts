import { startTestTsa } from '@erst/test-tsa';
import * as x509 from '@peculiar/x509';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { requestTimestamp } from '../client.js';
import { IMPRINT } from './helpers.js';

/**
 * package.json declares that only dist/x509.js (the reflect-metadata import
 * @peculiar/x509 needs) has side effects. Importing @erst/timestamp must not
 * change @peculiar/x509's process-wide default crypto provider, which an
 * application may have set to something else: verification passes WebCrypto
 * to each call instead.
 */
describe('@erst/timestamp has no global side effects on import', () => {
  afterEach(() => {
    x509.cryptoProvider.set(globalThis.crypto);
  });

  it("leaves @peculiar/x509's default crypto provider alone, and verifies without one", async () => {
    // The test CA needs the provider to issue certificates: make the token first.
    const tsa = await startTestTsa();
    try {
      const { token } = await requestTimestamp(tsa.url, IMPRINT);
      x509.cryptoProvider.clear();
      vi.resetModules();
      const { verifyTimestampToken } = await import('../index.js');
      expect(x509.cryptoProvider.has('default')).toBe(false);
      await expect(verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: [tsa.rootPem] })).resolves.toBeDefined();
      expect(x509.cryptoProvider.has('default')).toBe(false);
    } finally {
      await tsa.close();
    }
  });
});
