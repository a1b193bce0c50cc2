import {
  type AuditRecordV2,
  type HardwareAttestation,
  type JsonObject,
  type Signer,
  generateWithSigner,
  publicKeyFromRaw,
  seedSigner,
} from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX, readVectorLines, vectorPath } from '@erst/fixtures';
import { BROKEN_VARIANTS, TestCa, attestationFor, brokenChain } from '@erst/test-ca';
import { p256 } from '@noble/curves/nist.js';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { Verifier } from '../index.js';
import { OTHER_SEED, PAYLOAD, TEST_SEED, TX } from './helpers.js';

const NOW = new Date('2026-11-26T12:00:00.000Z');
const now = () => NOW;
const ROOT = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');

function p256Signer(): Signer {
  const secret = p256.utils.randomSecretKey();
  const key = publicKeyFromRaw(p256.getPublicKey(secret, false), 'ecdsa-p256');
  return {
    algorithm: 'ecdsa-p256',
    publicKey: async () => key,
    sign: async (digest) => p256.sign(digest, secret, { prehash: false, lowS: true }),
  };
}

async function sign(signer: Signer, attestation: HardwareAttestation | null): Promise<AuditRecordV2> {
  return (await generateWithSigner(
    signer,
    { transactionHash: TX, payload: PAYLOAD },
    { attestation, now },
  )) as AuditRecordV2;
}

function codes(r: { errors: { code: string }[] }): string[] {
  return [...new Set(r.errors.map((e) => e.code))].sort();
}

let ca: TestCa;
let other: TestCa;
beforeAll(async () => {
  ca = await TestCa.create({ now: NOW });
  other = await TestCa.create({ now: NOW }); // same names as `ca`, other keys
});

describe('shared vectors: erst Go 1.1.0 and erst TypeScript records with the test chain', () => {
  const attested = [
    ...readVectorLines('erst-go-1.1.0.jsonl').slice(4, 6),
    ...readVectorLines('erst-ts-legacy.jsonl').slice(4, 6),
  ];

  it('are the records that carry an attestation', () => {
    for (const line of attested) expect(JSON.parse(line).hardware_attestation).toBeDefined();
  });

  it('verify as attested with root.pem pinned: trusted without pinning the key', async () => {
    const v = new Verifier({ attestationRoots: [ROOT] });
    for (const line of attested) {
      const r = await v.verify(line);
      expect(r.errors).toEqual([]);
      expect(r.valid).toBe(true);
      expect(r.trust).toBe('attested');
      expect(r.attestation?.attested).toBe(true);
      expect(r.attestation?.vendor).toMatchObject({ vendor: 'yubico', firmware: '5.7.4', serial: 19088743 });
      expect(r.attestation?.chain).toHaveLength(3);
    }
  });

  it('with any other root: not attested, and refused with ERR_ATTESTATION_UNTRUSTED_ROOT', async () => {
    for (const v of [
      new Verifier({ attestationRoots: [other.rootPem] }),
      new Verifier({ attestationRoots: [other.rootPem], publicKeys: [SIGNING_PUBLIC_KEY_HEX] }),
    ]) {
      for (const line of attested) {
        const r = await v.verify(line);
        expect(r.valid).toBe(false);
        expect(r.attestation?.attested).toBe(false);
        expect(r.errors.map((e) => e.code)).toContain('ERR_ATTESTATION_UNTRUSTED_ROOT');
        expect(r.trust).not.toBe('attested');
      }
    }
  });

  it('with no root: integrity only, a warning, not attested', async () => {
    const r = await new Verifier().verify(attested[0]!);
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('embedded-only');
    expect(r.attestation?.attested).toBe(false);
    expect(r.attestation?.chain).toHaveLength(3);
    expect(r.warnings.map((w) => w.code)).toContain('WARN_ATTESTATION_NOT_CHECKED');
  });

  it('--require-attestation: invalid without a root, valid with it', async () => {
    const without = await new Verifier({ requireAttestation: true }).verify(attested[0]!);
    expect(without.valid).toBe(false);
    expect(codes(without)).toEqual(['ERR_ATTESTATION_REQUIRED']);
    const pinnedOnly = await new Verifier({ requireAttestation: true, publicKeys: [SIGNING_PUBLIC_KEY_HEX] }).verify(
      attested[0]!,
    );
    expect(codes(pinnedOnly)).toEqual(['ERR_ATTESTATION_REQUIRED']);
    const withRoot = await new Verifier({ requireAttestation: true, attestationRoots: [ROOT] }).verify(attested[0]!);
    expect(withRoot.valid).toBe(true);
    expect(withRoot.trust).toBe('attested');
    // A record without an attestation cannot meet the requirement.
    const plain = await new Verifier({ requireAttestation: true, attestationRoots: [ROOT] }).verify(
      readVectorLines('erst-go-1.1.0.jsonl')[0]!,
    );
    expect(codes(plain)).toEqual(['ERR_ATTESTATION_REQUIRED', 'ERR_KEY_NOT_TRUSTED']);
  });
});

describe('2.0.0 records signed with an attestation', () => {
  it('Ed25519 and P-256 keys attested to a pinned root', async () => {
    for (const signer of [seedSigner(TEST_SEED), p256Signer()]) {
      const key = await signer.publicKey();
      const rec = await sign(signer, attestationFor(await ca.chain(key), { retrievedAt: NOW }));
      const r = await new Verifier({ attestationRoots: [ca.rootPem] }).verify(JSON.stringify(rec));
      expect(r.errors, signer.algorithm).toEqual([]);
      expect(r.trust).toBe('attested');
      expect(r.attestation?.claims.key_attributes).toEqual(rec.hardware_attestation!.key_attributes);
    }
  });

  it('every broken chain makes the record invalid with its own code', async () => {
    const signer = seedSigner(TEST_SEED);
    const key = await signer.publicKey();
    const v = new Verifier({ attestationRoots: [ca.rootPem] });
    for (const variant of BROKEN_VARIANTS) {
      const b = await brokenChain(ca, variant, key);
      const r = await v.verify(JSON.stringify(await sign(signer, attestationFor(b.chain, { retrievedAt: NOW }))));
      expect(r.valid, variant).toBe(false);
      expect(r.integrity, variant).toEqual({ hash: 'ok', signature: 'ok' });
      expect(r.attestation?.attested, variant).toBe(false);
      // The attestation's codes, plus: the key is not pinned and not attested.
      expect(codes(r), variant).toEqual([...b.expect, 'ERR_KEY_NOT_TRUSTED'].sort());
    }
  });

  it("a borrowed attestation (another key's chain, signed in by a different key) is caught", async () => {
    const thief = seedSigner(OTHER_SEED);
    const victimChain = await ca.chain(await seedSigner(TEST_SEED).publicKey());
    const r = await new Verifier({ attestationRoots: [ca.rootPem] }).verify(
      JSON.stringify(await sign(thief, attestationFor(victimChain, { retrievedAt: NOW }))),
    );
    expect(r.valid).toBe(false);
    expect(codes(r)).toEqual(['ERR_ATTESTATION_KEY_MISMATCH', 'ERR_KEY_NOT_TRUSTED']);
  });

  it('with no root pinned, a borrowed attestation still shows in the warning', async () => {
    const victimChain = await ca.chain(await seedSigner(TEST_SEED).publicKey());
    const rec = await sign(seedSigner(OTHER_SEED), attestationFor(victimChain, { retrievedAt: NOW }));
    const r = await new Verifier().verify(JSON.stringify(rec));
    expect(r.trust).toBe('embedded-only');
    expect(r.attestation?.attested).toBe(false);
    expect(codes(r.attestation!)).toEqual(['ERR_ATTESTATION_KEY_MISMATCH']);
    const w = r.warnings.find((x) => x.code === 'WARN_ATTESTATION_NOT_CHECKED');
    expect(w?.message).toContain('ERR_ATTESTATION_KEY_MISMATCH');
  });

  it('stripping, swapping, reordering or editing the attestation breaks the signature', async () => {
    const signer = seedSigner(TEST_SEED);
    const key = await signer.publicKey();
    const rec = await sign(signer, attestationFor(await ca.chain(key), { retrievedAt: NOW }));
    const another = await sign(
      signer,
      attestationFor(await ca.chain(key), { retrievedAt: NOW, tokenInfo: 'another token' }),
    );
    const v = new Verifier({ attestationRoots: [ca.rootPem] });
    expect((await v.verify(JSON.stringify(rec))).valid).toBe(true);
    expect((await v.verify(JSON.stringify(another))).valid).toBe(true);

    const a = rec.hardware_attestation!;
    const { hardware_attestation: _stripped, ...stripped } = rec;
    const variants: [string, JsonObject][] = [
      ['stripped', stripped as unknown as JsonObject],
      ['swapped', { ...rec, hardware_attestation: another.hardware_attestation } as unknown as JsonObject],
      [
        'reordered',
        {
          ...rec,
          hardware_attestation: { ...a, certificates: [...a.certificates!].reverse() },
        } as unknown as JsonObject,
      ],
      ['token_info edited', { ...rec, hardware_attestation: { ...a, token_info: 'x' } } as unknown as JsonObject],
      [
        'claim flipped',
        { ...rec, hardware_attestation: { ...a, key_non_exportable: !a.key_non_exportable } } as unknown as JsonObject,
      ],
      [
        'key_attributes edited',
        {
          ...rec,
          hardware_attestation: { ...a, key_attributes: { ...a.key_attributes, local: false } },
        } as unknown as JsonObject,
      ],
      [
        'retrieved_at edited',
        { ...rec, hardware_attestation: { ...a, retrieved_at: '2026-11-26T12:00:01.000Z' } } as unknown as JsonObject,
      ],
      [
        'certificate dropped',
        { ...rec, hardware_attestation: { ...a, certificates: a.certificates!.slice(0, 2) } } as unknown as JsonObject,
      ],
    ];
    for (const [name, edited] of variants) {
      const r = await v.verify(JSON.stringify(edited));
      expect(r.valid, name).toBe(false);
      expect(codes(r), name).toContain('ERR_HASH_MISMATCH');
    }
  });
});

describe('many records with the same chain', () => {
  it('verify attested at close to the plain rate (the chain is checked once)', async () => {
    const signer = seedSigner(TEST_SEED);
    const key = await signer.publicKey();
    const chain = await ca.chain(key);
    const n = 200;
    const plain: string[] = [];
    const attested: string[] = [];
    for (let i = 0; i < n; i++) {
      const payload = { ...PAYLOAD, logs: [`record ${i}`] };
      plain.push(
        JSON.stringify(await generateWithSigner(signer, { transactionHash: TX, payload }, { attestation: null, now })),
      );
      attested.push(
        JSON.stringify(
          await generateWithSigner(
            signer,
            { transactionHash: TX, payload },
            { attestation: attestationFor(chain, { retrievedAt: NOW }), now },
          ),
        ),
      );
    }
    const v = new Verifier({ attestationRoots: [ca.rootPem], publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
    await v.verifyMany(attested.slice(0, 1)); // loads @erst/attestation once
    const results = await v.verifyMany(attested);
    expect(results.every((r) => r.valid && r.attestation?.attested)).toBe(true);
    expect((await v.verifyMany(plain)).every((r) => r.valid)).toBe(true);
  });
});
