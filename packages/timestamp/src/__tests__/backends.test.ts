import { ContentInfo, SignedData } from '@peculiar/asn1-cms';
import { AsnConvert } from '@peculiar/asn1-schema';
import { TSA_NAME, issueTsa, tsaCa } from '@erst/test-ca';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { requestTimestamp } from '../client.js';
import { clearTimestampCache, verifyTimestampToken } from '../index.js';
import {
  IMPRINT,
  OTHER_IMPRINT,
  editTstInfo,
  flipSignatureBit,
  flipSignedAttributeByte,
  rejection,
} from './helpers.js';

// Without `crypto`, Node checks each token's signature with node:crypto on a
// cached KeyObject; with one, through that WebCrypto. Both must say the same.
let tsas: { name: string; tsa: TestTsa; token: Uint8Array; root: string }[];

beforeAll(async () => {
  const ca = await tsaCa();
  tsas = await Promise.all(
    [
      ['P-256', {}],
      ['RSA, v1 ESSCertID', { rsa: true }],
    ].map(async ([name, opts]) => {
      const tsa = await startTestTsa({
        credentials: await issueTsa(ca, opts as { rsa?: boolean }),
        ...(name === 'P-256' ? {} : { essCertId: 'v1' as const }),
      });
      return { name: name as string, tsa, token: (await requestTimestamp(tsa.url, IMPRINT)).token, root: ca.rootPem };
    }),
  );
});
afterAll(() => Promise.all(tsas.map((t) => t.tsa.close())));

/** The outcome under node:crypto (no `crypto` given) and under WebCrypto, caches emptied before each. */
async function both(token: Uint8Array, root: string, imprint = IMPRINT): Promise<[string, string]> {
  const out: string[] = [];
  for (const crypto of [undefined, globalThis.crypto]) {
    clearTimestampCache();
    const p = verifyTimestampToken(token, { imprint, tsaRoots: [root], ...(crypto ? { crypto } : {}) });
    out.push(await rejection(p));
  }
  return out as [string, string];
}

describe("node:crypto and WebCrypto agree on a token's signature", () => {
  it.each(['P-256', 'RSA, v1 ESSCertID'])('%s: a good token verifies under both', async (name) => {
    const t = tsas.find((x) => x.name === name)!;
    expect(await both(t.token, t.root)).toEqual(['no error', 'no error']);
    const info = await verifyTimestampToken(t.token, { imprint: IMPRINT, tsaRoots: [t.root] });
    expect(info.tsa).toBe(TSA_NAME);
  });

  it.each(['P-256', 'RSA, v1 ESSCertID'])('%s: tampering fails under both, with the same code', async (name) => {
    const t = tsas.find((x) => x.name === name)!;
    const bad = 'ERR_TIMESTAMP_SIGNATURE_INVALID';
    expect(await both(flipSignatureBit(t.token), t.root)).toEqual([bad, bad]);
    const moved = editTstInfo(t.token, (tst) => {
      tst.messageImprint.hashedMessage.buffer = OTHER_IMPRINT.slice().buffer;
    });
    expect(await both(moved, t.root, OTHER_IMPRINT)).toEqual([bad, bad]);
    // Every signed attribute is covered: each one changed breaks the signature (or, for the
    // message digest and the signing-certificate binding, fails its own check first).
    const { signedAttrs } = AsnConvert.parse(AsnConvert.parse(t.token, ContentInfo).content, SignedData)
      .signerInfos[0]!;
    expect(signedAttrs!.length).toBeGreaterThanOrEqual(3);
    for (let i = 0; i < signedAttrs!.length; i++) {
      const edited = flipSignedAttributeByte(t.token, i);
      const [viaNode, viaWeb] = await both(edited, t.root);
      expect(viaNode).toBe(viaWeb);
      expect(viaNode).not.toBe('no error');
    }
  });
});

describe('per-TSA verdicts are cached by exact bytes, and only by them', () => {
  it('after a good token, the same token with any signed attribute changed still fails', async () => {
    for (const t of tsas) {
      clearTimestampCache();
      // The content-type, the signing-certificate binding and the signer lookup are now cached for these bytes.
      await verifyTimestampToken(t.token, { imprint: IMPRINT, tsaRoots: [t.root] });
      const { signedAttrs } = AsnConvert.parse(AsnConvert.parse(t.token, ContentInfo).content, SignedData)
        .signerInfos[0]!;
      for (let i = 0; i < signedAttrs!.length; i++) {
        const edited = flipSignedAttributeByte(t.token, i);
        expect(await rejection(verifyTimestampToken(edited, { imprint: IMPRINT, tsaRoots: [t.root] }))).not.toBe(
          'no error',
        );
      }
      await expect(verifyTimestampToken(t.token, { imprint: IMPRINT, tsaRoots: [t.root] })).resolves.toBeDefined();
    }
  });
});
