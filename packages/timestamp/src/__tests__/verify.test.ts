import { bytesToBase64 } from '@erst/core';
import { TSA_NAME, type TestCa, issueTsa, tsaCa, tsaLookAlike, tsaUnder } from '@erst/test-ca';
import { type TestTsa, TSA_ACCURACY_MS, TSA_POLICY, opensslVerifyToken, startTestTsa } from '@erst/test-tsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimestamp } from '../client.js';
import { MAX_TOKEN_BYTES, MAX_TOKEN_CERTIFICATES, verifyTimestampToken } from '../index.js';
import {
  IMPRINT,
  OTHER_IMPRINT,
  certificatesOf,
  editTstInfo,
  flipSignatureBit,
  rejected,
  rejection,
  withCertificates,
} from './helpers.js';

let ca: TestCa;
let tsa: TestTsa;
/** A token `openssl ts -reply` made for IMPRINT, and the nonce it was asked with. */
let token: Uint8Array;
let nonce: string;
let roots: string[];

beforeAll(async () => {
  ca = await tsaCa();
  tsa = await startTestTsa({ credentials: await issueTsa(ca) });
  ({ token, nonce } = await requestTimestamp(tsa.url, IMPRINT));
  roots = [tsa.rootPem];
});
afterAll(() => tsa.close());

/** A token for IMPRINT from the test TSA answering as `behaviour` says (then back to normal). */
async function tokenWith(behaviour: Parameters<TestTsa['behave']>[0]): Promise<Uint8Array> {
  tsa.behave(behaviour);
  try {
    return (await requestTimestamp(tsa.url, IMPRINT)).token;
  } finally {
    tsa.behave({});
  }
}

describe('tokens made by openssl ts -reply verify', () => {
  it('reports genTime, the TSA, its accuracy, the serial and the policy', async () => {
    const before = Date.now();
    const fresh = await requestTimestamp(tsa.url, IMPRINT);
    const info = await verifyTimestampToken(fresh.token, { imprint: IMPRINT, tsaRoots: roots, nonce: fresh.nonce });
    expect(info.tsa).toBe(TSA_NAME);
    expect(info.accuracy).toBe(TSA_ACCURACY_MS);
    expect(info.policy).toBe(TSA_POLICY);
    expect(info.serial).toMatch(/^[0-9a-f]+$/);
    // openssl stamps whole seconds (clock_precision_digits 0).
    const at = Date.parse(info.timestamped_at);
    expect(at).toBeGreaterThanOrEqual(Math.floor(before / 1000) * 1000);
    expect(at).toBeLessThanOrEqual(Date.now());
    expect(info.timestamped_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
  });

  it('as DER and as canonical base64; other spellings of the base64 are refused', async () => {
    const b64 = bytesToBase64(token);
    await expect(verifyTimestampToken(b64, { imprint: IMPRINT, tsaRoots: roots })).resolves.toBeDefined();
    for (const other of [`${b64}\n`, b64.replace(/=+$/, ''), ` ${b64}`]) {
      if (other === b64) continue;
      expect(await rejection(verifyTimestampToken(other, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
        'ERR_TIMESTAMP_MALFORMED',
      );
    }
  });

  it('from an RSA TSA whose tokens carry the SHA-1 ESSCertID (v1 signing-certificate attribute)', async () => {
    const rsa = await startTestTsa({ credentials: await issueTsa(ca, { rsa: true }), essCertId: 'v1' });
    try {
      const r = await requestTimestamp(rsa.url, IMPRINT);
      const info = await verifyTimestampToken(r.token, { imprint: IMPRINT, tsaRoots: roots, nonce: r.nonce });
      expect(info.tsa).toBe(TSA_NAME);
    } finally {
      await rsa.close();
    }
  });

  it('under any of several pinned roots, in one text or several', async () => {
    const other = (await tsaCa()).rootPem;
    await expect(
      verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: [other, tsa.rootPem] }),
    ).resolves.toBeDefined();
    await expect(
      verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: [other + tsa.rootPem] }),
    ).resolves.toBeDefined();
  });
});

describe('openssl ts -verify accepts the tokens requestTimestamp fetched', () => {
  it('against the same root, and refuses them for another digest or another root', async () => {
    const ok = await opensslVerifyToken({ token, digest: IMPRINT, rootPem: tsa.rootPem });
    expect(ok.stdout).toContain('Verification: OK');
    expect(ok.code).toBe(0);
    expect((await opensslVerifyToken({ token, digest: OTHER_IMPRINT, rootPem: tsa.rootPem })).code).not.toBe(0);
    expect((await opensslVerifyToken({ token, digest: IMPRINT, rootPem: (await tsaCa()).rootPem })).code).not.toBe(0);
  });
});

describe('tampering fails with its code', () => {
  it('a token moved to another record is over another hash: ERR_TIMESTAMP_IMPRINT_MISMATCH', async () => {
    expect(await rejection(verifyTimestampToken(token, { imprint: OTHER_IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_IMPRINT_MISMATCH',
    );
  });

  it('an edited genTime (TSTInfo encoded again) breaks the CMS signature, for openssl too', async () => {
    const edited = editTstInfo(token, (t) => {
      t.genTime = new Date(t.genTime.getTime() - 86_400_000);
    });
    expect(await rejection(verifyTimestampToken(edited, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_SIGNATURE_INVALID',
    );
    expect((await opensslVerifyToken({ token: edited, digest: IMPRINT, rootPem: tsa.rootPem })).code).not.toBe(0);
  });

  it('an edited imprint (to move a token) breaks the signature just the same', async () => {
    const moved = editTstInfo(token, (t) => {
      t.messageImprint.hashedMessage.buffer = OTHER_IMPRINT.slice().buffer;
    });
    expect(await rejection(verifyTimestampToken(moved, { imprint: OTHER_IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_SIGNATURE_INVALID',
    );
  });

  it('a flipped signature bit: ERR_TIMESTAMP_SIGNATURE_INVALID', async () => {
    expect(await rejection(verifyTimestampToken(flipSignatureBit(token), { imprint: IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_SIGNATURE_INVALID',
    );
  });

  it('a TSA whose root is not pinned (or no root at all): ERR_TIMESTAMP_UNTRUSTED_ROOT', async () => {
    const other = await tsaCa();
    for (const tsaRoots of [[other.rootPem], []]) {
      expect(await rejection(verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots }))).toBe(
        'ERR_TIMESTAMP_UNTRUSTED_ROOT',
      );
    }
    // A TSA under another root, carrying the same names: names prove nothing.
    const foreign = await tokenWith({ resignWith: await issueTsa(other) });
    expect(await rejection(verifyTimestampToken(foreign, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_UNTRUSTED_ROOT',
    );
  });

  it('re-signing itself is sound: a token re-signed by a proper TSA certificate verifies', async () => {
    const creds = await issueTsa(ca);
    const resigned = await tokenWith({ resignWith: creds });
    await expect(verifyTimestampToken(resigned, { imprint: IMPRINT, tsaRoots: roots })).resolves.toBeDefined();
    // And with the signer named by its subject key identifier rather than issuer and serial.
    const byKeyId = await tokenWith({ resignWith: creds, keyId: true });
    expect(byKeyId).not.toEqual(resigned);
    await expect(verifyTimestampToken(byKeyId, { imprint: IMPRINT, tsaRoots: roots })).resolves.toBeDefined();
  });

  it.each(['absent', 'non-critical', 'with-server-auth'] as const)(
    'a TSA certificate whose timeStamping EKU is %s: ERR_TIMESTAMP_TSA_EKU',
    async (eku) => {
      const t = await tokenWith({ resignWith: await issueTsa(ca, { eku }) });
      expect(await rejection(verifyTimestampToken(t, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
        'ERR_TIMESTAMP_TSA_EKU',
      );
    },
  );

  it.each([
    ['leaf', 'but is not a CA'],
    ['sub-ca', 'allows 0 intermediate certificate(s) below it, and the chain has 1'],
  ] as const)(
    'a TSA certificate issued under a %s its chain does not allow: ERR_TIMESTAMP_CHAIN_INVALID',
    async (issuer, why) => {
      const t = await tokenWith({ resignWith: await tsaUnder(ca, issuer) });
      const e = await rejected(verifyTimestampToken(t, { imprint: IMPRINT, tsaRoots: roots }));
      expect(e.code).toBe('ERR_TIMESTAMP_CHAIN_INVALID');
      expect(e.message).toContain(why);
    },
  );

  it('a TSA certificate not yet valid at genTime: ERR_TIMESTAMP_CHAIN_INVALID', async () => {
    const later = new Date(ca.now.getTime() + 86_400_000);
    const creds = await issueTsa(ca, { notBefore: later, notAfter: new Date(later.getTime() + 86_400_000) });
    const t = await tokenWith({ resignWith: creds });
    expect(await rejection(verifyTimestampToken(t, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
      'ERR_TIMESTAMP_CHAIN_INVALID',
    );
  });

  it.each(['v2', 'v1'] as const)(
    'another certificate for the same key, issuer and serial, put in the token: the ESSCertID%s binding refuses it',
    async (essCertId) => {
      const creds = await issueTsa(ca);
      const own = await startTestTsa({ credentials: creds, essCertId });
      try {
        const t = (await requestTimestamp(own.url, IMPRINT)).token;
        await expect(verifyTimestampToken(t, { imprint: IMPRINT, tsaRoots: roots })).resolves.toBeDefined();
        const [, ...rest] = certificatesOf(t);
        const swapped = withCertificates(t, [await tsaLookAlike(ca, creds), ...rest]);
        expect(await rejection(verifyTimestampToken(swapped, { imprint: IMPRINT, tsaRoots: roots }))).toBe(
          'ERR_TIMESTAMP_SIGNATURE_INVALID',
        );
      } finally {
        await own.close();
      }
    },
  );

  it('a nonce other than the one sent: ERR_TIMESTAMP_NONCE_MISMATCH', async () => {
    const other = nonce.replace(/.$/, (c) => (c === '0' ? '1' : '0'));
    expect(await rejection(verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: roots, nonce: other }))).toBe(
      'ERR_TIMESTAMP_NONCE_MISMATCH',
    );
    await expect(verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: roots, nonce })).resolves.toBeDefined();
  });
});

describe('malformed tokens: ERR_TIMESTAMP_MALFORMED, quoting none of their bytes', () => {
  it('garbage, a truncated token, an empty one', async () => {
    for (const bad of [
      new Uint8Array([0x30, 0x03, 0x02, 0x01]),
      token.subarray(0, token.length - 10),
      new Uint8Array(),
    ]) {
      const e = await rejected(verifyTimestampToken(bad, { imprint: IMPRINT, tsaRoots: roots }));
      expect(e.code).toBe('ERR_TIMESTAMP_MALFORMED');
      expect(e.message).not.toMatch(/[0-9a-f]{16}|[A-Za-z0-9+/]{24}/);
    }
  });

  it(`over ${MAX_TOKEN_BYTES} bytes, refused unread (as DER and as base64)`, async () => {
    const big = new Uint8Array(MAX_TOKEN_BYTES + 1);
    for (const t of [big, bytesToBase64(big)]) {
      const e = await rejected(verifyTimestampToken(t, { imprint: IMPRINT, tsaRoots: roots }));
      expect(e.code).toBe('ERR_TIMESTAMP_MALFORMED');
      expect(e.details).toEqual({ limit: MAX_TOKEN_BYTES });
    }
  });

  it(`carrying more than ${MAX_TOKEN_CERTIFICATES} certificates`, async () => {
    const certs = certificatesOf(token);
    const many = withCertificates(
      token,
      Array.from({ length: MAX_TOKEN_CERTIFICATES + 1 }, (_, i) => certs[i % certs.length]!),
    );
    const e = await rejected(verifyTimestampToken(many, { imprint: IMPRINT, tsaRoots: roots }));
    expect(e.code).toBe('ERR_TIMESTAMP_MALFORMED');
    expect(e.details).toEqual({ limit: MAX_TOKEN_CERTIFICATES });
  });

  it('without the TSA certificate that signed it', async () => {
    const [, ...rest] = certificatesOf(token);
    expect(
      await rejection(verifyTimestampToken(withCertificates(token, rest), { imprint: IMPRINT, tsaRoots: roots })),
    ).toBe('ERR_TIMESTAMP_MALFORMED');
  });
});

describe('options are checked once, at the boundary: ERR_OPTIONS_INVALID naming the option', () => {
  it.each([
    ['imprint', { imprint: IMPRINT.subarray(1) }],
    ['tsaRoots', { tsaRoots: ['not a certificate'] }],
    ['tsaRoots', { tsaRoots: ['-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n'] }],
    ['nonce', { nonce: 'NOT HEX' }],
  ])('%s', async (option, override) => {
    const e = await rejected(verifyTimestampToken(token, { imprint: IMPRINT, tsaRoots: roots, ...override }));
    expect(e.code).toBe('ERR_OPTIONS_INVALID');
    expect(e.details).toEqual({ options: [option] });
  });
});
