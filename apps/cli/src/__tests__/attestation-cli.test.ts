import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type HardwareAttestation, generate, hexToBytes } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, readVectorLines, runCli, tempDir, vectorPath } from '@erst/fixtures';
import { TestCa, attestationFor, brokenChain } from '@erst/test-ca';
import { createPrivateKey } from 'node:crypto';
import { beforeAll, describe, expect, it } from 'vitest';

const ROOT = vectorPath('attestation-chain/root.pem');
const TX = '530ea1ea71c0810d3e19206c17a2a497101a832a8108bc83d5f6c3c699e520b8';
const PAYLOAD = { envelope_xdr: 'AAAAAgAAAAA=', result_meta_xdr: 'AAAAAwAAAAA=', events: ['e'], logs: ['l'] };
const SEED = new Uint8Array(Buffer.from(createPrivateKey(SIGNING_KEY_PEM).export({ format: 'jwk' }).d!, 'base64url'));

let dir: string;
let goRecord: string; // erst Go 1.1.0 record with the shared test chain
let tsRecord: string; // erst TypeScript record (no timestamp) with the same chain
let otherRoot: string;
let ca: TestCa;
beforeAll(async () => {
  dir = tempDir('erst-att-cli-');
  goRecord = join(dir, 'go.json');
  writeFileSync(goRecord, readVectorLines('erst-go-1.1.0.jsonl')[4]!);
  tsRecord = join(dir, 'ts.json');
  writeFileSync(tsRecord, readVectorLines('erst-ts-legacy.jsonl')[5]!);
  ca = await TestCa.create();
  otherRoot = join(dir, 'other-root.pem');
  writeFileSync(otherRoot, (await TestCa.create()).rootPem);
  writeFileSync(join(dir, 'ca-root.pem'), ca.rootPem);
});

async function signed(name: string, attestation: HardwareAttestation): Promise<string> {
  const file = join(dir, name);
  writeFileSync(file, JSON.stringify(await generate({ transactionHash: TX, payload: PAYLOAD }, SEED, { attestation })));
  return file;
}

describe('erst audit verify with attestation roots (built binary)', () => {
  it('--attestation-root: attested, with the vendor details, for erst Go and erst TypeScript records', async () => {
    for (const file of [goRecord, tsRecord]) {
      const r = await runCli(['audit', 'verify', file, '--attestation-root', ROOT]);
      expect(r.code, r.stdout + r.stderr).toBe(0);
      expect(r.stdout).toContain('VALID');
      expect(r.stdout).toContain('trust attested');
      expect(r.stdout).toContain('hardware-attested to a pinned root');
      expect(r.stdout).toContain('yubico: firmware 5.7.4, serial 19088743, PIN policy once, touch policy always');
      expect(r.stdout).toContain('(claims, not proof)');
    }
  });

  it('--json carries the attestation report', async () => {
    const r = await runCli(['audit', 'verify', goRecord, '--attestation-root', ROOT, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const [res] = JSON.parse(r.stdout).results;
    expect(res.trust).toBe('attested');
    expect(res.attestation.attested).toBe(true);
    expect(res.attestation.errors).toEqual([]);
    expect(res.attestation.vendor).toEqual({
      vendor: 'yubico',
      firmware: '5.7.4',
      serial: 19088743,
      pin_policy: 'once',
      touch_policy: 'always',
    });
    expect(res.attestation.claims).toEqual({ key_non_exportable: true, token_info: 'Test Token shared (SoftHSM v2)' });
    expect(res.attestation.chain.map((c: { subject: string }) => c.subject)).toEqual([
      'CN=YubiKey PIV Attestation 9c',
      'CN=Test PIV Attestation, O=Erst Test',
      'CN=Test PIV Root CA, O=Erst Test',
    ]);
    expect(res.attestation.chain[0].sha256_fingerprint).toMatch(/^[0-9a-f]{64}$/);
  });

  it('another root: exit 1 with ERR_ATTESTATION_UNTRUSTED_ROOT; a trust file naming the right root: attested', async () => {
    const bad = await runCli(['audit', 'verify', goRecord, '--attestation-root', otherRoot, '--json']);
    expect(bad.code).toBe(1);
    const [res] = JSON.parse(bad.stdout).results;
    expect(res.valid).toBe(false);
    expect(res.attestation.attested).toBe(false);
    expect(res.errors.map((e: { code: string }) => e.code)).toContain('ERR_ATTESTATION_UNTRUSTED_ROOT');

    const trust = join(dir, 'trust.json');
    // Root paths are relative to the trust file and inside its directory.
    copyFileSync(ROOT, join(dir, 'vector-root.pem'));
    writeFileSync(trust, JSON.stringify({ attestation_roots: ['vector-root.pem'] }));
    const good = await runCli(['audit', 'verify', goRecord, '--trust', trust]);
    expect(good.code, good.stdout).toBe(0);
    expect(good.stdout).toContain('trust attested');
  });

  it('--require-attestation: exit 1 without a root (even with the key pinned), 0 with it', async () => {
    for (const extra of [[], ['--public-key', SIGNING_PUBLIC_KEY_HEX]]) {
      const r = await runCli(['audit', 'verify', goRecord, '--require-attestation', ...extra]);
      expect(r.code).toBe(1);
      expect(r.stdout).toContain('ERR_ATTESTATION_REQUIRED');
      expect(r.stdout).toContain('NOT proven (no attestation root pinned)');
    }
    const ok = await runCli(['audit', 'verify', goRecord, '--require-attestation', '--attestation-root', ROOT]);
    expect(ok.code, ok.stdout).toBe(0);
  });

  it('2.0.0 records: attested to a test CA, and a broken chain refused with its code', async () => {
    const key = { algorithm: 'ed25519' as const, raw: hexToBytes(SIGNING_PUBLIC_KEY_HEX)! };
    const good = await signed('good.json', attestationFor(await ca.chain(key)));
    const ok = await runCli(['audit', 'verify', good, '--attestation-root', join(dir, 'ca-root.pem')]);
    expect(ok.code, ok.stdout).toBe(0);
    expect(ok.stdout).toContain('trust attested');
    expect(ok.stdout).toContain(
      'yubico: firmware 5.7.1, serial 12345678, PIN policy once, touch policy never, form factor USB-C keychain',
    );

    const broken = await brokenChain(ca, 'key-mismatch', key);
    const bad = await signed('bad.json', attestationFor(broken.chain));
    const r = await runCli(['audit', 'verify', bad, '--attestation-root', join(dir, 'ca-root.pem')]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERR_ATTESTATION_KEY_MISMATCH');
    expect(r.stdout).toContain('NOT proven');
  });
});

describe('erst audit inspect prints the chain', () => {
  it('subject, issuer, serial, validity, fingerprints, vendor details, claims', async () => {
    const r = await runCli(['audit', 'inspect', goRecord]);
    expect(r.code, r.stderr).toBe(0);
    for (const text of [
      'chain:            3 certificate(s), leaf first',
      '[0] subject:     CN=YubiKey PIV Attestation 9c',
      'issuer:      CN=Test PIV Attestation, O=Erst Test',
      'serial:      0117091db3f46c170653a6cbcd86b021c4451e71',
      'valid:       2026-11-26T12:00:10.000Z to 2027-11-26T12:00:10.000Z',
      'key:         Ed25519, SPKI SHA-256 ',
      'key:         ECDSA P-256',
      'SHA-256:     ',
      '[2] subject:     CN=Test PIV Root CA, O=Erst Test',
      'vendor details:   yubico: firmware 5.7.4, serial 19088743, PIN policy once, touch policy always',
      'claims key_non_exportable=true',
    ]) {
      expect(r.stdout).toContain(text);
    }
    const j = await runCli(['audit', 'inspect', goRecord, '--json']);
    expect(j.code).toBe(0);
    const a = JSON.parse(j.stdout).attestation;
    expect(a.vendor.serial).toBe(19088743);
    expect(a.certificates).toHaveLength(3);
    expect(a.certificates[1].parsed.is_ca).toBe(true);
    expect(a.certificates[0].parsed.not_after).toBe('2027-11-26T12:00:10.000Z');
    expect(a.errors).toEqual([]);
  });

  it('judges the stated names as verify does: another attribute order is the same name, another serial is not', async () => {
    const rec = JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[4]!);
    rec.hardware_attestation.certificates[1].issuer = 'O=Erst Test,CN=Test PIV Root CA';
    const reordered = join(dir, 'reordered.json');
    writeFileSync(reordered, JSON.stringify(rec));
    const same = await runCli(['audit', 'inspect', reordered, '--json']);
    expect(same.code, same.stderr).toBe(0);
    expect(JSON.parse(same.stdout).attestation.errors).toEqual([]);
    expect((await runCli(['audit', 'inspect', reordered])).stdout).not.toMatch(/error ERR_|note:/);

    rec.hardware_attestation.certificates[1].serial = '01';
    const wrong = join(dir, 'wrong-serial.json');
    writeFileSync(wrong, JSON.stringify(rec));
    const r = await runCli(['audit', 'inspect', wrong, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).attestation.errors.map((e: { code: string }) => e.code)).toEqual([
      'ERR_ATTESTATION_MALFORMED',
    ]);
  });

  it('a certificate that does not parse is shown as such, exit 0', async () => {
    const rec = JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[4]!);
    rec.hardware_attestation.certificates[1].pem = '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n';
    const file = join(dir, 'garbled.json');
    writeFileSync(file, JSON.stringify(rec));
    const r = await runCli(['audit', 'inspect', file]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('(the PEM does not parse as an X.509 certificate)');
    expect(r.stdout).toContain('error ERR_ATTESTATION_MALFORMED');
  });
});
