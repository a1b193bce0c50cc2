import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, thrownError, vectorPath } from '@erst/fixtures';
import type { TrustPolicy } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { loadTrustOptions } from '../index.js';

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
  return (loadTrustOptions({ trustFile: trust }).trust as TrustPolicy[])[0]!.attestationRoots;
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
      const err = thrown(() => loadTrustOptions({ trustFile: trust }));
      expect(err?.code, entry).toBe('ERR_TRUST_FILE_INVALID');
      expect(err?.message).toContain('attestation_roots[1]');
    }
  });

  it("the trust file's directory itself is not a root file", () => {
    const { trust } = setUp(['.']);
    expect(thrown(() => loadTrustOptions({ trustFile: trust }))?.code).toBe('ERR_TRUST_FILE_INVALID');
  });

  it('a missing root file keeps its own code, with the entry named', () => {
    const { trust } = setUp(['roots/missing.pem']);
    const err = thrown(() => loadTrustOptions({ trustFile: trust }));
    expect(err?.code).toBe('ERR_FILE_NOT_FOUND');
    expect(err?.message).toContain('attestation_roots[0]');
  });
});

describe('a root that is no certificate is refused by the same check wherever it comes from', () => {
  for (const [name, text, reason] of [
    ['a public key', PUBLIC_KEY_PEM, ' holds no PEM certificate'],
    ['plain text', 'hello', ' holds no PEM certificate'],
    [
      'a CERTIFICATE block that holds no certificate',
      '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
      ': PEM block 1 is not an X.509 certificate',
    ],
  ] as const) {
    it(name, () => {
      const { dir, trust } = setUp(['roots/bad.pem']);
      writeFileSync(join(dir, 'trust', 'roots', 'bad.pem'), text);
      const fromTrust = thrown(() => loadTrustOptions({ trustFile: trust }));
      expect(fromTrust?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(fromTrust?.message).toContain('attestation_roots[0]');
      const path = join(dir, 'trust', 'roots', 'bad.pem');
      const fromOption = thrown(() => loadTrustOptions({ attestationRoots: [path] }));
      // A bad option, named in API terms: a command line maps `attestationRoots` to its flag.
      expect(fromOption?.code).toBe('ERR_OPTIONS_INVALID');
      expect(fromOption?.message).toBe(`\`attestationRoots\` ${path}${reason}`);
      expect(fromOption?.details).toEqual({ options: ['attestationRoots'] });
      for (const m of [fromTrust!.message, fromOption!.message])
        expect(m).not.toContain(text.trim().split('\n')[1] ?? text);
    });
  }
});

describe('log keys: given as an option, or as a trust file\'s "log_keys"', () => {
  const VKEY = 'example.com/log+2ed26742+AS7S1T39c5B/35hmv8SQWvXJJdazbirOig60YHgNjjsb';

  function trustFile(doc: unknown): string {
    const path = join(tempDir('erst-trust-log-keys-'), 'trust.json');
    writeFileSync(path, typeof doc === 'string' ? doc : JSON.stringify(doc));
    return path;
  }

  it('both end up in `logKeys`, options first; the rest of the file is read as before', () => {
    const trust = trustFile({ keys: [{ public_key: PUBLIC_KEY_PEM }], log_keys: [VKEY] });
    const options = loadTrustOptions({ trustFile: trust, logKeys: ['other.test/log+00000000+AAAA'] });
    expect(options.logKeys).toEqual(['other.test/log+00000000+AAAA', VKEY]);
    expect((options.trust as TrustPolicy[])[0]!.keys).toHaveLength(1);
  });

  it('without any, options carry no `logKeys` (reports and fingerprints stay as they were)', () => {
    expect(loadTrustOptions({ trustFile: trustFile({ keys: [] }) })).not.toHaveProperty('logKeys');
  });

  it('a "log_keys" that is not a list of verifier keys: ERR_TRUST_FILE_INVALID, the key not quoted', () => {
    for (const bad of [{ log_keys: 'x' }, { log_keys: [7] }, { log_keys: ['secret+nonsense'] }]) {
      const e = thrown(() => loadTrustOptions({ trustFile: trustFile(bad) }));
      expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(e?.message).not.toContain('secret');
    }
  });

  it('other members keep their checks: a "__proto__" member is still an unknown field', () => {
    const e = thrown(() => loadTrustOptions({ trustFile: trustFile(`{"log_keys":[],"__proto__":{}}`) }));
    expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(e?.message).toContain('__proto__');
  });
});
