import { generateKeyPairSync } from 'node:crypto';
import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, errorCode, tempDir } from '@erst/fixtures';
import { describeSignerContract } from '@erst/signer-contract';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';
import { InMemorySigner, generateKeyPair, loadSoftwareSigner } from '../memory-signer.js';
import { ThreadedSigner } from '../threaded-signer.js';

const code = errorCode;

describeSignerContract('InMemorySigner', async () => InMemorySigner.fromPem(SIGNING_KEY_PEM));
describeSignerContract('InMemorySigner (generated)', async () => generateKeyPair().signer);
describeSignerContract('ThreadedSigner', async () => ThreadedSigner.from(InMemorySigner.fromPem(SIGNING_KEY_PEM)));

describe('ThreadedSigner', () => {
  it('signs exactly what InMemorySigner signs (Ed25519 is deterministic), in order, across batches', async () => {
    const mem = InMemorySigner.fromPem(SIGNING_KEY_PEM);
    const threaded = await ThreadedSigner.from(mem);
    const digests = Array.from({ length: 37 }, (_, i) => new Uint8Array(32).fill(i));
    const got = await Promise.all(digests.map((d) => threaded.sign(d)));
    for (const [i, d] of digests.entries()) expect(bytesToHex(got[i]!)).toBe(bytesToHex(await mem.sign(d)));
    await threaded.close();
  });

  it('close() waits for signatures in flight, then refuses new ones', async () => {
    const threaded = await ThreadedSigner.from(InMemorySigner.fromPem(SIGNING_KEY_PEM));
    const pending = Array.from({ length: 20 }, (_, i) => threaded.sign(new Uint8Array(32).fill(i)));
    await threaded.close();
    expect((await Promise.all(pending)).every((s) => s.length === 64)).toBe(true);
    await expect(threaded.sign(new Uint8Array(32))).rejects.toMatchObject({ code: 'ERR_SIGNER_CLOSED' });
  });
});

describe('InMemorySigner key loading', () => {
  it('reads PKCS#8 PEM and reports the matching public key', async () => {
    const s = InMemorySigner.fromPem(SIGNING_KEY_PEM);
    expect(bytesToHex((await s.publicKey()).raw)).toBe(SIGNING_PUBLIC_KEY_HEX);
  });

  it('reads erst Go hex: a 32-byte seed or the 64-byte seed||public key', async () => {
    const { signer } = generateKeyPair();
    const pem = signer.exportPkcs8Pem();
    const jwk = (await import('node:crypto')).createPrivateKey(pem).export({ format: 'jwk' });
    const seedHex = Buffer.from(jwk.d!, 'base64url').toString('hex');
    const pubHex = Buffer.from(jwk.x!, 'base64url').toString('hex');
    expect(InMemorySigner.fromHex(seedHex).publicKeyHex).toBe(pubHex);
    expect(InMemorySigner.fromHex(seedHex + pubHex).publicKeyHex).toBe(pubHex);
    expect(code(() => InMemorySigner.fromHex(seedHex + '00'.repeat(32)))).toBe('ERR_KEY_HEX_INVALID');
    expect(code(() => InMemorySigner.fromHex('abcd'))).toBe('ERR_KEY_HEX_INVALID');
    expect(code(() => InMemorySigner.fromHex('zz'.repeat(32)))).toBe('ERR_KEY_HEX_INVALID');
  });

  it('refuses encrypted, non-Ed25519 and garbage PEM with their own codes, quoting no key material', () => {
    const { privateKey } = generateKeyPairSync('ed25519');
    const encrypted = privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'secret',
    }) as string;
    expect(code(() => InMemorySigner.fromPem(encrypted))).toBe('ERR_KEY_ENCRYPTED');
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({
      type: 'pkcs8',
      format: 'pem',
    }) as string;
    expect(code(() => InMemorySigner.fromPem(ec))).toBe('ERR_KEY_NOT_ED25519');
    expect(code(() => InMemorySigner.fromPem('hello'))).toBe('ERR_KEY_PEM_INVALID');
    const broken = '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIFakeFakeFake\n-----END PRIVATE KEY-----\n';
    try {
      InMemorySigner.fromPem(broken);
      expect.unreachable();
    } catch (e) {
      expect((e as { code: string }).code).toBe('ERR_KEY_PEM_INVALID');
      expect(String((e as Error).message)).not.toContain('FakeFake');
      expect(String(((e as Error).cause as Error).message)).not.toContain('FakeFake');
    }
  });

  it('warns about a key file readable by group or others, naming the file and the fix', () => {
    const dir = tempDir();
    const file = join(dir, 'key.pem');
    writeFileSync(file, SIGNING_KEY_PEM);
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    InMemorySigner.fromKeyFile(file, (m) => warnings.push(m));
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(file);
    expect(warnings[0]).toContain(`chmod 600 ${file}`);
    chmodSync(file, 0o600);
    warnings.length = 0;
    InMemorySigner.fromKeyFile(file, (m) => warnings.push(m));
    expect(warnings).toEqual([]);
    expect(code(() => InMemorySigner.fromKeyFile(join(dir, 'missing.pem')))).toBe('ERR_KEY_FILE_UNREADABLE');
    expect(code(() => InMemorySigner.fromKeyFile(dir))).toBe('ERR_KEY_FILE_UNREADABLE');
  });

  it('never prints back what was given as a key file path: it may be a seed or PEM typed there by mistake', () => {
    const seed = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
    for (const notAPath of [seed, SIGNING_KEY_PEM, tempDir()]) {
      try {
        InMemorySigner.fromKeyFile(notAPath);
        expect.unreachable();
      } catch (e) {
        expect((e as { code: string }).code).toBe('ERR_KEY_FILE_UNREADABLE');
        const seen = `${(e as Error).message} ${((e as Error).cause as Error | undefined)?.message ?? ''}`;
        expect(seen).not.toContain(notAPath.slice(0, 40));
        expect(seen).not.toContain('BEGIN');
      }
    }
  });

  it('takes the key from flag, file, PEM variable, then hex variable, in that order', () => {
    const a = generateKeyPair();
    const b = generateKeyPair();
    const dir = tempDir();
    const file = join(dir, 'k.pem');
    writeFileSync(file, b.pkcs8Pem, { mode: 0o600 });
    const env = { ERST_AUDIT_PRIVATE_KEY_PEM: SIGNING_KEY_PEM };
    expect(loadSoftwareSigner({ pem: a.pkcs8Pem, keyFile: file, env }).publicKeyHex).toBe(a.publicKeyHex);
    expect(loadSoftwareSigner({ keyFile: file, env }).publicKeyHex).toBe(b.publicKeyHex);
    expect(loadSoftwareSigner({ env }).publicKeyHex).toBe(SIGNING_PUBLIC_KEY_HEX);
    expect(code(() => loadSoftwareSigner({ env: {} }))).toBe('ERR_KEY_MISSING');
  });

  it('exports exactly its documented surface', () => {
    expect(Object.keys(surface).sort()).toEqual([
      'InMemorySigner',
      'ThreadedSigner',
      'generateKeyPair',
      'loadSoftwareSigner',
    ]);
  });
});
