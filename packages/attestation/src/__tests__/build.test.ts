import { type KeyAttributes, isErstError, parseAttestation } from '@erst/core';
import { vectorPath } from '@erst/fixtures';
import { TestCa, attestationFor, pem } from '@erst/test-ca';
import { readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildAttestation, describeAttestation, verifyAttestation } from '../index.js';
import { AT, ED25519_KEY, NOW, p256Key } from './helpers.js';

function der(p: string): Uint8Array {
  const b64 = p.replace(/-----[A-Z ]+-----/g, '').replace(/\s+/g, '');
  return new Uint8Array(Buffer.from(b64, 'base64'));
}

const ALL_GOOD: KeyAttributes = {
  local: true,
  sensitive: true,
  always_sensitive: true,
  extractable: false,
  never_extractable: true,
};

let ca: TestCa;
let chain: string[];
beforeAll(async () => {
  ca = await TestCa.create({ now: NOW });
  chain = await ca.chain(ED25519_KEY);
});

describe('buildAttestation', () => {
  it('orders the pool leaf first by issuer links, dropping duplicates and unrelated certificates', async () => {
    const [leaf, inter, root] = chain as [string, string, string];
    const unrelated = await TestCa.create({ now: NOW, rootName: 'CN=Unrelated Root' });
    const a = buildAttestation({
      leaf: der(leaf),
      pool: [der(root), der(leaf), der(unrelated.rootPem), der(inter), der(root), der(pem(unrelated.intermediate))],
      tokenInfo: 'YubiKey PIV #12345678 (Yubico (www.yubico.com))',
      keyAttributes: ALL_GOOD,
      retrievedAt: NOW,
      publicKey: ED25519_KEY,
    });
    expect(a.certificates!.map((c) => c.pem)).toEqual(chain);
    expect(a.certificates!.map((c) => c.subject)).toEqual([
      'CN=YubiKey PIV Attestation 9c',
      ca.intermediate.subject,
      ca.root.subject,
    ]);
    expect(a.certificates![2]!.issuer).toBe(ca.root.subject);
    for (const c of a.certificates!) expect(c.serial).toMatch(/^[0-9a-f]+$/);
    expect(a.retrieved_at).toBe(NOW.toISOString());
    expect(a.token_info).toBe('YubiKey PIV #12345678 (Yubico (www.yubico.com))');
    expect(a.key_non_exportable).toBe(true);
    expect(a.key_attributes).toEqual(ALL_GOOD);
    // What it builds is a valid 2.0.0 attestation object, and attests.
    expect(parseAttestation(JSON.parse(JSON.stringify(a)), true)).toEqual(a);
    const r = await verifyAttestation({ attestation: a, publicKey: ED25519_KEY, roots: [ca.rootPem], times: AT });
    expect(r.errors).toEqual([]);
    expect(r.attested).toBe(true);
  });

  it('follows signatures, not just names: an impostor CA with the same name is skipped', async () => {
    const impostor = await TestCa.create({ now: NOW }); // identical names, other keys
    const [leaf, inter, root] = chain as [string, string, string];
    const a = buildAttestation({
      leaf: der(leaf),
      pool: [der(pem(impostor.intermediate)), der(impostor.rootPem), der(inter), der(root)],
      tokenInfo: 't',
      keyAttributes: ALL_GOOD,
    });
    expect(a.certificates!.map((c) => c.pem)).toEqual(chain);
  });

  it('stops where the pool ends: a leaf alone, or leaf and intermediate', () => {
    const [leaf, inter] = chain as [string, string];
    expect(
      buildAttestation({ leaf: der(leaf), pool: [], tokenInfo: 't', keyAttributes: {} }).certificates!.map(
        (c) => c.pem,
      ),
    ).toEqual([leaf]);
    expect(
      buildAttestation({
        leaf: der(leaf),
        pool: [der(inter), new Uint8Array([1, 2, 3])],
        tokenInfo: 't',
        keyAttributes: {},
      }).certificates!.map((c) => c.pem),
    ).toEqual([leaf, inter]);
  });

  it('key_non_exportable only when sensitive, not extractable, never extractable and local are all explicitly so', () => {
    const leaf = der(chain[0]!);
    const build = (keyAttributes: KeyAttributes) => buildAttestation({ leaf, pool: [], tokenInfo: 't', keyAttributes });
    expect(build(ALL_GOOD).key_non_exportable).toBe(true);
    expect(
      build({ sensitive: true, extractable: false, never_extractable: true, local: true }).key_non_exportable,
    ).toBe(true);
    for (const name of ['local', 'sensitive', 'extractable', 'never_extractable'] as const) {
      const flipped = { ...ALL_GOOD, [name]: !ALL_GOOD[name] };
      expect(build(flipped).key_non_exportable, `${name} flipped`).toBe(false);
      const missing = { ...ALL_GOOD };
      delete missing[name];
      expect(build(missing).key_non_exportable, `${name} missing`).toBe(false);
      expect(build(missing).key_attributes).toEqual(missing);
    }
    // ykcs11 claims every key non-extractable, imported ones too: only CKA_LOCAL tells them apart.
    expect(build({ ...ALL_GOOD, local: false }).key_non_exportable).toBe(false);
    // Only the five known booleans are copied.
    expect(build({ ...ALL_GOOD, extra: true } as KeyAttributes).key_attributes).toEqual(ALL_GOOD);
  });

  it('retrieved_at defaults to now', () => {
    const before = Date.now();
    const a = buildAttestation({ leaf: der(chain[0]!), pool: [], tokenInfo: 't', keyAttributes: {} });
    expect(Date.parse(a.retrieved_at)).toBeGreaterThanOrEqual(before);
    expect(Date.parse(a.retrieved_at)).toBeLessThanOrEqual(Date.now());
  });

  it('refuses an unparseable leaf, and a leaf for another key when the signing key is given', async () => {
    const fail = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return isErstError(e) ? e.code : 'not an ErstError';
      }
      return 'no error';
    };
    expect(
      fail(() =>
        buildAttestation({ leaf: new Uint8Array([0x30, 0x03, 1, 2, 3]), pool: [], tokenInfo: 't', keyAttributes: {} }),
      ),
    ).toBe('ERR_ATTESTATION_MALFORMED');
    const p256 = await p256Key();
    expect(
      fail(() =>
        buildAttestation({ leaf: der(chain[0]!), pool: [], tokenInfo: 't', keyAttributes: {}, publicKey: p256 }),
      ),
    ).toBe('ERR_ATTESTATION_KEY_MISMATCH');
  });

  it('rebuilds the shared vector chain byte for byte (erst Go made the same PEMs)', () => {
    const names = ['leaf', 'inter', 'root'];
    const pems = names.map((n) => readFileSync(vectorPath(`attestation-chain/${n}.pem`), 'utf8'));
    const a = buildAttestation({
      leaf: der(pems[0]!),
      pool: [der(pems[2]!), der(pems[1]!)],
      tokenInfo: 't',
      keyAttributes: {},
    });
    const rec = JSON.parse(readFileSync(vectorPath('erst-go-1.1.0.jsonl'), 'utf8').split('\n')[4]!);
    expect(a.certificates).toEqual(rec.hardware_attestation.certificates);
  });
});

describe('describeAttestation', () => {
  it('summarizes the chain in the record order, with vendor details, without judging it', () => {
    const d = describeAttestation(attestationFor([chain[2]!, chain[0]!]));
    expect(d.errors).toEqual([]);
    expect(d.certificates.map((c) => c?.subject)).toEqual([ca.root.subject, 'CN=YubiKey PIV Attestation 9c']);
    expect(d.vendor).toBeNull(); // the first certificate (a root) carries no Yubico extensions
    const ok = describeAttestation(attestationFor(chain));
    expect(ok.vendor).toEqual({
      vendor: 'yubico',
      firmware: '5.7.1',
      serial: 12345678,
      pin_policy: 'once',
      touch_policy: 'never',
      form_factor: 'USB-C keychain',
    });
    const bad = describeAttestation(attestationFor(['garbage', chain[1]!]));
    expect(bad.errors.map((e) => e.code)).toEqual(['ERR_ATTESTATION_MALFORMED']);
    expect(bad.certificates.map((c) => c?.subject ?? null)).toEqual([null, ca.intermediate.subject]);
    expect(bad.vendor).toBeNull();
  });

  it('decodes every documented policy and form factor value, and marks unknown ones', async () => {
    const cases: [number, number, number, string, string, string][] = [
      [1, 1, 1, 'never', 'never', 'USB-A keychain'],
      [2, 2, 2, 'once', 'always', 'USB-A nano'],
      [3, 3, 5, 'always', 'cached', 'USB-C/Lightning keychain'],
      [4, 1, 6, 'match-once', 'never', 'USB-A bio'],
      [5, 1, 7, 'match-always', 'never', 'USB-C bio'],
      [9, 9, 0x83, 'unknown (0x09)', 'unknown (0x09)', 'USB-C keychain (flags 0x80)'],
    ];
    for (const [pinPolicy, touchPolicy, formFactor, pin, touch, ff] of cases) {
      const leaf = pem(
        await ca.leaf(ED25519_KEY, {
          yubikey: { pinPolicy, touchPolicy, formFactor, serial: 2 ** 31 + 5, firmware: [4, 3, 7] },
        }),
      );
      const v = describeAttestation(attestationFor([leaf])).vendor!;
      expect(v).toEqual({
        vendor: 'yubico',
        firmware: '4.3.7',
        serial: 2 ** 31 + 5,
        pin_policy: pin,
        touch_policy: touch,
        form_factor: ff,
      });
    }
  });
});
