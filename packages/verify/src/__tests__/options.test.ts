import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { vectorPath } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { Verifier, type VerifyOptions, isErstError, parseTrustFile, verifyAuditLog, verifyMany } from '../index.js';
import { signV2 } from './helpers.js';

const ROOT = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');

async function rejection(p: Promise<unknown>): Promise<string | undefined> {
  try {
    await p;
  } catch (e) {
    return isErstError(e) ? e.code : `not an ErstError: ${String(e)}`;
  }
  return 'resolved';
}

describe('options are checked once, at the boundary', async () => {
  const rec = JSON.stringify(await signV2());

  const bad: [string, VerifyOptions, string][] = [
    ['a public key that is neither hex nor PEM', { publicKeys: ['zz'] }, 'ERR_PUBLIC_KEY_FORMAT'],
    ['a public key of the wrong length', { publicKeys: ['11'.repeat(31)] }, 'ERR_PUBLIC_KEY_FORMAT'],
    [
      'a PublicKey object with the wrong length',
      { publicKeys: [{ algorithm: 'ed25519', raw: new Uint8Array(31) }] },
      'ERR_PUBLIC_KEY_FORMAT',
    ],
    ['a public key that is not text or a key', { publicKeys: [42 as unknown as string] }, 'ERR_PUBLIC_KEY_FORMAT'],
    ['an unknown backend', { backend: 'fast' as 'auto' }, 'ERR_OPTIONS_INVALID'],
    ['an attestation root that is not PEM', { attestationRoots: ['hello'] }, 'ERR_OPTIONS_INVALID'],
    [
      'an attestation root that is a public key',
      {
        attestationRoots: [
          '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----\n',
        ],
      },
      'ERR_OPTIONS_INVALID',
    ],
    [
      'an attestation root whose block is no certificate',
      { attestationRoots: ['-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'] },
      'ERR_OPTIONS_INVALID',
    ],
    [
      'a trust policy with a root that is not PEM',
      { trust: { keys: [], attestationRoots: ['hello'], requireAttestation: false } },
      'ERR_OPTIONS_INVALID',
    ],
    [
      'a trust policy with a bad key',
      {
        trust: [
          {
            keys: [{ key: { algorithm: 'ed25519', raw: new Uint8Array(3) } }],
            attestationRoots: [],
            requireAttestation: false,
          },
        ],
      },
      'ERR_PUBLIC_KEY_FORMAT',
    ],
    [
      'a trust policy that is not one',
      { trust: 'trust.json' as unknown as VerifyOptions['trust'] },
      'ERR_OPTIONS_INVALID',
    ],
    ['publicKeys that is not an array', { publicKeys: 'abc' as unknown as string[] }, 'ERR_OPTIONS_INVALID'],
    [
      'a requireAttestation that is not a boolean',
      { requireAttestation: 'yes' as unknown as boolean },
      'ERR_OPTIONS_INVALID',
    ],
    ['a maxBytes that is not a positive integer', { maxBytes: -1 }, 'ERR_OPTIONS_INVALID'],
  ];

  it.each(bad)('verifyAuditLog with %s: no throw, the promise rejects with its code', async (_name, options, code) => {
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = verifyAuditLog(rec, options);
    }).not.toThrow();
    expect(await rejection(p!)).toBe(code);
    expect(await rejection(verifyMany([rec], options))).toBe(code);
  });

  it.each(bad)('new Verifier with %s throws its code', (_name, options, code) => {
    let err: unknown;
    try {
      new Verifier(options);
    } catch (e) {
      err = e;
    }
    expect(isErstError(err) ? err.code : err).toBe(code);
  });

  it('an error names the option, never the key or root text', async () => {
    const secretish = 'ab'.repeat(20);
    for (const options of [{ publicKeys: [secretish] }, { attestationRoots: [`junk ${secretish}`] }]) {
      try {
        await verifyAuditLog(rec, options);
        expect.unreachable();
      } catch (e) {
        expect((e as Error).message).toMatch(/publicKeys\[0\]|attestationRoots\[0\]/);
        expect((e as Error).message).not.toContain(secretish);
      }
    }
  });

  it('good options of every kind still verify, including keys and policies that crossed a structured clone', async () => {
    const trust = parseTrustFile({
      keys: [{ public_key: JSON.parse(rec).public_key, label: 'k', not_before: '2026-01-01T00:00:00Z' }],
      attestation_roots: [ROOT],
    });
    const options = structuredClone({
      trust,
      attestationRoots: [ROOT],
      requireAttestation: false,
      maxBytes: 1 << 20,
      backend: 'noble' as const,
    });
    const r = await verifyAuditLog(rec, options);
    expect(r.errors).toEqual([]);
    expect(r.trust).toBe('pinned');
    expect(r.key?.label).toBe('k');
    // Options the Verifier does not know (verifyMany's concurrency) are left alone.
    expect((await verifyMany([rec], { concurrency: 2 }))[0]!.valid).toBe(true);
  });
});

describe('a runtime without WebCrypto (an insecure browser context)', () => {
  // A fresh process: WebCrypto is read when a Verifier is made, and Node's is always there.
  const script = `
    delete globalThis.crypto;
    const { verifyAuditLog } = await import(${JSON.stringify(join(process.cwd(), 'dist', 'index.js'))});
    const [rec, root] = JSON.parse(process.argv[1]);
    const out = {};
    for (const [name, input, options] of [
      ['webcrypto', rec, { backend: 'webcrypto' }],
      ['webcrypto, malformed record', '{', { backend: 'webcrypto' }],
      ['roots pinned', rec, { attestationRoots: [root] }],
      ['auto', rec, {}],
    ]) {
      out[name] = await verifyAuditLog(input, options).then((r) => (r.valid ? 'valid' : r.errors.map((e) => e.code).join()), (e) => e.code);
    }
    process.stdout.write(JSON.stringify(out));
  `;

  it('the webcrypto backend, or pinned roots, reject with ERR_CRYPTO_UNAVAILABLE; auto falls back to noble; nothing goes unhandled', async () => {
    const rec = JSON.stringify(await signV2());
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script, JSON.stringify([rec, ROOT])], {
      encoding: 'utf8',
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual({
      webcrypto: 'ERR_CRYPTO_UNAVAILABLE',
      'webcrypto, malformed record': 'ERR_CRYPTO_UNAVAILABLE',
      'roots pinned': 'ERR_CRYPTO_UNAVAILABLE',
      auto: 'valid',
    });
  });
});
