import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, thrownError, vectorPath } from '@erst/fixtures';
import type { TrustPolicy } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { trustOptions } from '../index.js';

const ROOT = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');
const PUBLIC_KEY_PEM =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----\n';

const thrown = thrownError;

/** A trust file at <dir>/trust/trust.json naming `roots`, with a good root at trust/roots/root.pem and another outside. */
function setUp(roots: string[]): { dir: string; trust: string } {
  const dir = tempDir('erst-trust-args-');
  mkdirSync(join(dir, 'trust', 'roots'), { recursive: true });
  writeFileSync(join(dir, 'trust', 'roots', 'root.pem'), ROOT);
  writeFileSync(join(dir, 'outside.pem'), ROOT);
  writeFileSync(join(dir, 'trust', 'trust.json'), JSON.stringify({ attestation_roots: roots }));
  return { dir, trust: join(dir, 'trust', 'trust.json') };
}

function rootsOf(trust: string): string[] {
  return (trustOptions({ trust }).trust as TrustPolicy[])[0]!.attestationRoots;
}

describe("trust-file attestation_roots stay inside the trust file's directory", () => {
  it('a relative path inside it, also through a symlink that stays inside or a symlinked directory: read', () => {
    const { dir, trust } = setUp(['roots/root.pem', './roots/../roots/root.pem', 'inside-link.pem']);
    symlinkSync(join(dir, 'trust', 'roots', 'root.pem'), join(dir, 'trust', 'inside-link.pem'));
    expect(rootsOf(trust)).toEqual([ROOT, ROOT, ROOT]);
    symlinkSync(join(dir, 'trust'), join(dir, 'linked-trust-dir'));
    expect(rootsOf(join(dir, 'linked-trust-dir', 'trust.json'))).toEqual([ROOT, ROOT, ROOT]);
  });

  it('a path that leaves it (.., absolute, a symlink out) is refused with ERR_TRUST_FILE_INVALID, naming the entry', () => {
    const cases = (dir: string): string[] => [
      '../outside.pem',
      'roots/../../outside.pem',
      join(dir, 'outside.pem'),
      'out-link.pem',
      '/etc/hostname',
    ];
    const probe = setUp([]);
    for (const entry of cases(probe.dir)) {
      const { dir, trust } = setUp(['roots/root.pem', entry]);
      symlinkSync(join(dir, 'outside.pem'), join(dir, 'trust', 'out-link.pem'));
      const err = thrown(() => trustOptions({ trust }));
      expect(err?.code, entry).toBe('ERR_TRUST_FILE_INVALID');
      expect(err?.message).toContain('attestation_roots[1]');
    }
  });

  it("the trust file's directory itself is not a root file", () => {
    const { trust } = setUp(['.']);
    expect(thrown(() => trustOptions({ trust }))?.code).toBe('ERR_TRUST_FILE_INVALID');
  });

  it('a missing root file keeps its own code, with the entry named', () => {
    const { trust } = setUp(['roots/missing.pem']);
    const err = thrown(() => trustOptions({ trust }));
    expect(err?.code).toBe('ERR_FILE_NOT_FOUND');
    expect(err?.message).toContain('attestation_roots[0]');
  });
});

describe('a root that is no certificate is refused by the same check wherever it comes from', () => {
  for (const [name, text] of [
    ['a public key', PUBLIC_KEY_PEM],
    ['plain text', 'hello'],
    ['a CERTIFICATE block that holds no certificate', '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n'],
  ] as const) {
    it(name, () => {
      const { dir, trust } = setUp(['roots/bad.pem']);
      writeFileSync(join(dir, 'trust', 'roots', 'bad.pem'), text);
      const fromTrust = thrown(() => trustOptions({ trust }));
      expect(fromTrust?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(fromTrust?.message).toContain('attestation_roots[0]');
      const fromFlag = thrown(() => trustOptions({ 'attestation-root': [join(dir, 'trust', 'roots', 'bad.pem')] }));
      expect(fromFlag?.code).toBe('ERR_USAGE');
      for (const m of [fromTrust!.message, fromFlag!.message])
        expect(m).not.toContain(text.trim().split('\n')[1] ?? text);
    });
  }
});
