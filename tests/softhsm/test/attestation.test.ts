import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HardwareAttestation, base64ToBytes, bytesToHex, generateWithSigner } from '@erst/core';
import { runCli } from '@erst/fixtures';
import { type Pkcs11Config, type Pkcs11Signer, generateTokenKeyPair, openPkcs11Signer } from '@erst/signer-pkcs11';
import { BROKEN_VARIANTS, type BrokenVariant, TestCa, brokenChain } from '@erst/test-ca';
import { verifyAuditLog } from '@erst/verify';
import { afterAll, describe, expect, it } from 'vitest';
import { createSoftHsm, importCertificate, strayFiles } from './softhsm.js';

// Attestation collection runs the real PKCS#11 path: the chain is stored on
// the SoftHSM token as certificate objects with YubiKey's labels and IDs.
const hsm = createSoftHsm('attest-token');
const base: Pkcs11Config = { module: hsm.module, tokenLabel: hsm.label, pin: hsm.pin };
const der = (pem: string) => base64ToBytes(pem.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, ''))!;
const PIV_ATTESTATION = 'X.509 Certificate for PIV Attestation';

const ca = await TestCa.create();
const piv = await generateTokenKeyPair({ ...base, label: 'attested 9c', pivSlot: '9c' });
const [leafPem, interPem, rootPem] = (await ca.chain(piv.publicKey)) as [string, string, string];
importCertificate(hsm, der(leafPem), `${PIV_ATTESTATION} 9c`, '02');
importCertificate(hsm, der(interPem), PIV_ATTESTATION, '19'); // f9 = CKA_ID 25
// An unrelated certificate elsewhere on the token must not end up in the chain.
const stranger = await TestCa.create({ rootName: 'CN=Unrelated Root, O=Elsewhere' });
importCertificate(hsm, der(stranger.rootPem), 'unrelated root', 'ee');

// A token that is not a YubiKey: the leaf is a certificate with the key's CKA_ID.
const generic = await generateTokenKeyPair({ ...base, label: 'generic', id: '0e20', algorithm: 'ecdsa-p256' });
const [gLeaf, gInter, gRoot] = (await ca.chain(generic.publicKey)) as [string, string, string];
importCertificate(hsm, der(gLeaf), 'generic attestation', '0e20');

const plain = await generateTokenKeyPair({ ...base, label: 'no certificate', id: '0e30' });

const rootFile = join(hsm.dir, 'root.pem');
writeFileSync(rootFile, rootPem);

const open: Pkcs11Signer[] = [];
async function signer(config: Pkcs11Config): Promise<Pkcs11Signer> {
  const s = await openPkcs11Signer({ ...base, ...config });
  open.push(s);
  return s;
}
afterAll(async () => {
  for (const s of open) await s.close();
});

const PAYLOAD = { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: ['e1'], logs: ['l1'] };
const TX = '7a'.repeat(32);
const subjects = (a: HardwareAttestation | undefined) => a?.certificates?.map((c) => c.subject);

describe('collecting the attestation from the token', () => {
  it('YubiKey layout: the slot attestation certificate and the f9 intermediate, leaf first, with the key attributes', async () => {
    const s = await signer({ pivSlot: '9c' });
    const a = await s.attestation();
    expect(subjects(a)).toEqual(['CN=YubiKey PIV Attestation 9c', ca.intermediate.subject]);
    expect(bytesToHex(der(a!.certificates![0]!.pem))).toBe(bytesToHex(der(leafPem)));
    expect(a).toMatchObject({
      key_non_exportable: true,
      key_attributes: {
        local: true,
        sensitive: true,
        always_sensitive: true,
        extractable: false,
        never_extractable: true,
      },
    });
    expect(a!.token_info).toMatch(/^attest-token SoftHSM v2 #[0-9a-f]+ \(SoftHSM project\)$/);
    expect(Math.abs(Date.parse(a!.retrieved_at) - Date.now())).toBeLessThan(60_000);
    // Read once, then cached: every record of a run carries the same object.
    expect(await s.attestation()).toBe(a);
  });

  it('adds vendor certificates from --attestation-chain', async () => {
    const s = await signer({ pivSlot: '9c', attestationChain: rootPem });
    expect(subjects(await s.attestation())).toEqual([
      'CN=YubiKey PIV Attestation 9c',
      ca.intermediate.subject,
      ca.root.subject,
    ]);
  });

  it("any token: a certificate with the key's CKA_ID, completed from the bundle", async () => {
    const s = await signer({ keyId: '0e20', attestationChain: `${gInter}${gRoot}` });
    const a = await s.attestation();
    expect(subjects(a)).toEqual(['CN=YubiKey PIV Attestation 9c', ca.intermediate.subject, ca.root.subject]);
    expect(bytesToHex(der(a!.certificates![0]!.pem))).toBe(bytesToHex(der(gLeaf)));
  });

  it('is undefined when the token holds no certificate for the key, or when turned off', async () => {
    expect(await (await signer({ keyLabel: 'no certificate' })).attestation()).toBeUndefined();
    expect(await (await signer({ pivSlot: '9c', attestation: 'off' })).attestation()).toBeUndefined();
    await expect(
      openPkcs11Signer({ ...base, keyLabel: 'no certificate', attestation: 'required' }),
    ).rejects.toMatchObject({
      code: 'ERR_ATTESTATION_UNAVAILABLE',
    });
  });

  it('refuses a token certificate that certifies another key', async () => {
    const mismatched = await generateTokenKeyPair({ ...base, label: 'mismatched 9d', pivSlot: '9d' });
    const other = await generateTokenKeyPair({ ...base, label: 'someone else', id: '0e40' });
    importCertificate(hsm, der(await ca.chain(other.publicKey).then((c) => c[0]!)), `${PIV_ATTESTATION} 9d`, '03');
    const s = await signer({ pivSlot: '9d' });
    await expect(s.attestation()).rejects.toMatchObject({ code: 'ERR_ATTESTATION_UNAVAILABLE' });
    expect(bytesToHex((await s.publicKey()).raw)).toBe(bytesToHex(mismatched.publicKey.raw));
  });
});

describe('records signed on the token carry the attestation under the signature', () => {
  it('2.0.0 and 1.1.0: attested with the root pinned, integrity only without it, invalid when attestation is required', async () => {
    const s = await signer({ pivSlot: '9c' });
    for (const schema of ['2.0.0', '1.1.0'] as const) {
      const record = await generateWithSigner(s, { transactionHash: TX, payload: PAYLOAD }, { schema });
      expect(record.hardware_attestation?.certificates).toHaveLength(2);
      const text = JSON.stringify(record);
      const pinnedRoot = await verifyAuditLog(text, { attestationRoots: [rootPem] });
      expect(pinnedRoot.errors).toEqual([]);
      expect(pinnedRoot).toMatchObject({ valid: true, trust: 'attested', attestation: { attested: true } });
      const noRoot = await verifyAuditLog(text, { publicKeys: [bytesToHex(piv.publicKey.raw)] });
      expect(noRoot).toMatchObject({ valid: true, trust: 'pinned', attestation: { attested: false } });
      const required = await verifyAuditLog(text, {
        publicKeys: [bytesToHex(piv.publicKey.raw)],
        requireAttestation: true,
      });
      expect(required.valid).toBe(false);
      expect(required.errors.map((e) => e.code)).toContain('ERR_ATTESTATION_REQUIRED');
      const wrongRoot = await verifyAuditLog(text, { attestationRoots: [stranger.rootPem] });
      expect(wrongRoot.attestation?.attested).toBe(false);
    }
  });

  it('stripping, swapping, reordering or editing the attestation breaks the signature', async () => {
    const s = await signer({ pivSlot: '9c', attestationChain: rootPem });
    const record = JSON.parse(JSON.stringify(await generateWithSigner(s, { transactionHash: TX, payload: PAYLOAD })));
    const otherRecord = await generateWithSigner(await signer({ keyId: '0e20', attestationChain: gRoot }), {
      transactionHash: TX,
      payload: PAYLOAD,
    });
    const edits: [string, (r: { hardware_attestation?: HardwareAttestation }) => void][] = [
      ['stripped', (r) => delete r.hardware_attestation],
      ['swapped', (r) => (r.hardware_attestation = otherRecord.hardware_attestation)],
      ['reordered', (r) => r.hardware_attestation!.certificates!.reverse()],
      [
        'token_info edited',
        (r) => (r.hardware_attestation!.token_info = 'YubiKey PIV #12345678 (Yubico (www.yubico.com))'),
      ],
      ['claims edited', (r) => (r.hardware_attestation!.key_attributes!.local = false)],
    ];
    for (const [what, edit] of edits) {
      const tampered = structuredClone(record);
      edit(tampered);
      const result = await verifyAuditLog(JSON.stringify(tampered), { attestationRoots: [rootPem] });
      expect(result.valid, what).toBe(false);
      expect(
        result.errors.map((e) => e.code),
        what,
      ).toContain('ERR_HASH_MISMATCH');
    }
  });

  // Chains that collection on the token would itself reorder, trim or refuse
  // (it follows issuer links and checks the leaf key) are covered by the
  // attestation package's own tests; these reach the verifier as built.
  const COLLECTION_CHANGES: readonly BrokenVariant[] = [
    'signed-by-leaf',
    'bad-signature',
    'key-mismatch',
    'reversed',
    'duplicate',
    'garbage-pem',
  ];
  const VARIANTS = BROKEN_VARIANTS.filter((v) => !COLLECTION_CHANGES.includes(v));
  it.each(VARIANTS.map((v, i) => [v, (0x82 + i).toString(16)] as const))(
    'a broken chain on the token (%s) is refused with its own code',
    async (variant, slot) => {
      const key = await generateTokenKeyPair({ ...base, label: `broken ${variant}`, pivSlot: slot });
      const broken = await brokenChain(ca, variant, key.publicKey);
      const [leaf, ...rest] = broken.chain;
      importCertificate(
        hsm,
        der(leaf!),
        `${PIV_ATTESTATION} ${slot}`,
        bytesToHex(Uint8Array.of(0x05 + (Number.parseInt(slot, 16) - 0x82))),
      );
      const s = await signer({ pivSlot: slot, attestationChain: rest.join('') });
      const record = await generateWithSigner(s, { transactionHash: TX, payload: PAYLOAD });
      const result = await verifyAuditLog(JSON.stringify(record), {
        attestationRoots: [broken.rootPem],
        requireAttestation: true,
      });
      expect(result.valid).toBe(false);
      expect(result.attestation?.attested).toBe(false);
      for (const code of broken.expect) expect(result.errors.map((e) => e.code)).toContain(code);
    },
  );
});

describe('erst audit sign --hsm-provider pkcs11 with attestation', () => {
  const sign = (args: string[], out: string) =>
    runCli(
      [
        'audit',
        'sign',
        '--hsm-provider',
        'pkcs11',
        '--payload',
        JSON.stringify({ transaction_hash: TX, payload: PAYLOAD }),
        '--out',
        out,
        ...args,
      ],
      {
        env: hsm.env,
        cwd: hsm.dir,
      },
    );

  it('embeds it by default, leaves it out with --no-attestation, and verifies as attested with --attestation-root', async () => {
    const withAtt = join(hsm.dir, 'attested.json');
    const r = await sign(['--piv-slot', '9c', '--require-attestation'], withAtt);
    expect(r.stderr).not.toContain('error');
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(withAtt, 'utf8')).hardware_attestation.certificates).toHaveLength(2);
    const v = await runCli(
      ['audit', 'verify', withAtt, '--attestation-root', rootFile, '--require-attestation', '--json'],
      { cwd: hsm.dir },
    );
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout).results[0]).toMatchObject({
      valid: true,
      trust: 'attested',
      attestation: { attested: true },
    });
    const unpinned = await runCli(['audit', 'verify', withAtt, '--require-attestation'], { cwd: hsm.dir });
    expect(unpinned.code).toBe(1);

    const without = join(hsm.dir, 'plain.json');
    expect((await sign(['--piv-slot', '9c', '--no-attestation'], without)).code).toBe(0);
    expect(JSON.parse(readFileSync(without, 'utf8')).hardware_attestation).toBeUndefined();
  });

  it('completes the chain from --attestation-chain', async () => {
    const bundle = join(hsm.dir, 'bundle.pem');
    writeFileSync(bundle, `${gInter}${gRoot}`);
    const out = join(hsm.dir, 'generic.json');
    const r = await sign(['--key-id', '0e20', '--attestation-chain', bundle], out);
    expect(r.code).toBe(0);
    expect(JSON.parse(readFileSync(out, 'utf8')).hardware_attestation.certificates).toHaveLength(3);
  });

  it('--require-attestation fails with exit 3 and no output when the key has none', async () => {
    const r = await runCli(
      [
        'audit',
        'sign',
        '--hsm-provider',
        'pkcs11',
        '--key-id',
        '0e30',
        '--require-attestation',
        '--payload',
        JSON.stringify({ transaction_hash: TX, payload: PAYLOAD }),
        '--out',
        join(hsm.dir, 'none.json'),
      ],
      { env: hsm.env, cwd: hsm.dir },
    );
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_ATTESTATION_UNAVAILABLE');
    expect(strayFiles(hsm.dir).filter((f) => f.startsWith('none') || f.startsWith('.none'))).toEqual([]);
    expect(plain.id).toBe('0e30');
  });
});
