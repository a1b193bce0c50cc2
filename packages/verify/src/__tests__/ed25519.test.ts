import { readFileSync } from 'node:fs';
import { vectorPath } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { checkEd25519PublicKey, nobleBackend, selectBackend, signatureIsStrictlyEncoded } from '../ed25519.js';

const h = (x: string) => Uint8Array.from(Buffer.from(x, 'hex'));

// RFC 8032 section 7.1, tests 1-3 and SHA(abc).
const RFC8032 = [
  {
    pub: 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a',
    msg: '',
    sig: 'e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b',
  },
  {
    pub: '3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c',
    msg: '72',
    sig: '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
  },
  {
    pub: 'fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025',
    msg: 'af82',
    sig: '6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a',
  },
  {
    pub: 'ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf',
    msg: 'ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f',
    sig: 'dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b58909351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704',
  },
];

interface SpecCase {
  index: number;
  message: string;
  pub_key: string;
  signature: string;
}
const speccheck = JSON.parse(readFileSync(vectorPath('ed25519-speccheck.json'), 'utf8')) as SpecCase[];

/**
 * The policy's answer for each ed25519-speccheck case: small-order A (0, 1)
 * or R (2) rejected, mixed-order points with a cofactorless-valid signature
 * (3) accepted, cofactored-only (4, 5) rejected, S >= L (6, 7) rejected,
 * non-canonical encodings (8, 9) rejected.
 */
const POLICY = [false, false, false, true, false, false, false, false, false, false];

async function strictVerify(
  backend: 'webcrypto' | 'noble' | 'node',
  pub: Uint8Array,
  msg: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  if (checkEd25519PublicKey(pub) !== 'ok' || !signatureIsStrictlyEncoded(sig)) return false;
  return (await selectBackend(backend)).verify(pub, msg, sig);
}

describe('Ed25519: one policy, every backend', () => {
  it('auto-selects WebCrypto on Node 20', async () => {
    expect((await selectBackend('auto')).name).toBe('webcrypto');
  });

  for (const backend of ['webcrypto', 'noble', 'node'] as const) {
    it(`${backend}: accepts the RFC 8032 test vectors`, async () => {
      for (const v of RFC8032) expect(await strictVerify(backend, h(v.pub), h(v.msg), h(v.sig))).toBe(true);
    });

    it(`${backend}: rejects an RFC 8032 signature with one bit flipped, or on another message`, async () => {
      for (const v of RFC8032) {
        const sig = h(v.sig);
        sig[5]! ^= 0x01;
        expect(await strictVerify(backend, h(v.pub), h(v.msg), sig)).toBe(false);
        expect(await strictVerify(backend, h(v.pub), h(`${v.msg}00`), h(v.sig))).toBe(false);
      }
    });

    it(`${backend}: gives the policy's answer on every ed25519-speccheck case`, async () => {
      expect(speccheck).toHaveLength(POLICY.length);
      const answers = [];
      for (const c of speccheck) answers.push(await strictVerify(backend, h(c.pub_key), h(c.message), h(c.signature)));
      expect(answers).toEqual(POLICY);
    });
  }

  it('the raw backends differ from OpenSSL nowhere once the policy runs first', async () => {
    const wc = await selectBackend('webcrypto');
    const node = await selectBackend('node');
    for (const c of speccheck) {
      const [pub, msg, sig] = [h(c.pub_key), h(c.message), h(c.signature)];
      // node:crypto is OpenSSL too: it agrees with WebCrypto even without the policy.
      expect(await node.verify(pub, msg, sig), `case ${c.index}`).toBe(await wc.verify(pub, msg, sig));
      if (checkEd25519PublicKey(pub) !== 'ok' || !signatureIsStrictlyEncoded(sig)) continue;
      expect(await nobleBackend.verify(pub, msg, sig), `case ${c.index}`).toBe(await wc.verify(pub, msg, sig));
    }
  });

  it('node (opt-in, for callers with their own worker threads) is chosen only when asked for, and never throws', async () => {
    expect((await selectBackend('node')).name).toBe('node');
    const node = await selectBackend('node');
    expect(await node.verify(new Uint8Array(32), new Uint8Array(1), new Uint8Array(64))).toBe(false);
    expect(await node.verify(new Uint8Array(31), new Uint8Array(1), new Uint8Array(64))).toBe(false);
  });

  it('classifies weak public keys', () => {
    expect(checkEd25519PublicKey(h('0100000000000000000000000000000000000000000000000000000000000000'))).toBe(
      'small-order',
    );
    expect(checkEd25519PublicKey(h('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa'))).toBe(
      'small-order',
    );
    // y = p, a non-canonical encoding of y = 0
    expect(checkEd25519PublicKey(h('edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f'))).toBe(
      'non-canonical',
    );
    expect(checkEd25519PublicKey(h(RFC8032[0]!.pub))).toBe('ok');
  });
});
