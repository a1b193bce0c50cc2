import { ErstError, type JsonValue } from '@erst/core';
import { errorCode, thrownError, vectorPath } from '@erst/fixtures';
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { type ParseTrustOptions, parseTrustFile } from '../trust.js';
import { Verifier } from '../verify.js';
import { OTHER_SEED, signV2 } from './helpers.js';

const code = errorCode;
const ROOT = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');

const thrown = thrownError;

describe('trust files and key windows', async () => {
  const rec = await signV2(); // dated 2026-11-26T12:00:00Z
  const key = rec.public_key;

  it('a key inside its window is pinned, with its label', async () => {
    const trust = parseTrustFile(
      JSON.stringify({
        keys: [
          {
            public_key: key,
            algorithm: 'ed25519',
            label: 'prod-2026',
            not_before: '2026-01-01T00:00:00Z',
            not_after: '2027-01-01T00:00:00Z',
          },
        ],
      }),
    );
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('pinned');
    expect(r.key?.label).toBe('prod-2026');
  });

  it('a rotated key keeps verifying records from its window and fails outside it', async () => {
    const trust = parseTrustFile({
      keys: [{ public_key: key, label: 'old', not_before: '2025-01-01T00:00:00Z', not_after: '2026-06-01T00:00:00Z' }],
    });
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
    const old = { ...(await signV2()), timestamp: '2026-03-01T00:00:00.000Z' };
    // Changing the covered timestamp breaks the signature, so sign a record dated inside the window.
    expect((await new Verifier({ trust }).verify(JSON.stringify(old))).errors.map((e) => e.code)).toContain(
      'ERR_HASH_MISMATCH',
    );
  });

  it('two windows for one key: the matching one wins', async () => {
    const trust = parseTrustFile({
      keys: [
        { public_key: key, label: 'first', not_after: '2026-01-01T00:00:00Z' },
        { public_key: key, label: 'second', not_before: '2026-01-01T00:00:00Z' },
      ],
    });
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.trust).toBe('pinned');
    expect(r.key?.label).toBe('second');
  });

  it('a key nobody pinned is untrusted when anchors were given', async () => {
    const other = await signV2(OTHER_SEED);
    const r = await new Verifier({ publicKeys: [key] }).verify(JSON.stringify(other));
    expect(r.valid).toBe(false);
    expect(r.trust).toBe('untrusted');
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_KEY_NOT_TRUSTED']);
  });

  it('require_attestation fails a record that carries none', async () => {
    const trust = parseTrustFile({ keys: [{ public_key: key }], require_attestation: true });
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_ATTESTATION_REQUIRED']);
  });

  it.each([
    ['not JSON', '{'],
    ['not an object', '[]'],
    ['an unknown field', '{"keyz":[]}'],
    ['a bad key', '{"keys":[{"public_key":"zz"}]}'],
    [
      'an algorithm that contradicts the key',
      `{"keys":[{"public_key":"${'11'.repeat(32)}","algorithm":"ecdsa-p256"}]}`,
    ],
    ['a bad date', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_before":"yesterday"}]}`],
    ['a date that does not exist', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_after":"2026-02-30T00:00:00Z"}]}`],
    ['a full date that does not exist', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_after":"2026-02-30"}]}`],
    ['midnight written as 24:00', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_before":"2026-01-01T24:00:00Z"}]}`],
    [
      'an inverted window',
      `{"keys":[{"public_key":"${'11'.repeat(32)}","not_before":"2027-01-01T00:00:00Z","not_after":"2026-01-01T00:00:00Z"}]}`,
    ],
    ['a root path without a resolver', '{"attestation_roots":["root.pem"]}'],
    ['a non-boolean require_attestation', '{"require_attestation":"yes"}'],
  ])('refuses a trust file with %s', (_n, text) => {
    expect(code(() => parseTrustFile(text))).toBe('ERR_TRUST_FILE_INVALID');
  });

  it('reads a window bound given as a full date as midnight UTC', () => {
    const trust = parseTrustFile({
      keys: [{ public_key: '11'.repeat(32), not_before: '2026-01-01', not_after: '2026-12-31T23:59:59.999Z' }],
    });
    expect(trust.keys[0]?.notBefore?.toISOString()).toBe('2026-01-01T00:00:00.000Z');
    expect(trust.keys[0]?.notAfter?.toISOString()).toBe('2026-12-31T23:59:59.999Z');
  });

  it('resolves root paths through the caller, since the verifier reads no files', () => {
    const seen: string[] = [];
    const p = parseTrustFile('{"attestation_roots":["roots/a.pem"]}', {
      resolveRoot: (ref) => {
        seen.push(ref);
        return ROOT;
      },
    });
    expect(seen).toEqual(['roots/a.pem']);
    expect(p.attestationRoots).toEqual([ROOT]);
  });

  it('a root that is no certificate is refused, inline or through the resolver, naming the entry and not its text', () => {
    const notCerts = [
      'hello',
      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----\n',
      '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n',
      '-----BEGIN CERTIFICATE-----\nnot base64 at all!\n-----END CERTIFICATE-----\n',
      ROOT.replace(/-----END CERTIFICATE-----/, ''),
      `${ROOT}-----BEGIN CERTIFICATE-----\nMAMCAQA=\n-----END CERTIFICATE-----\n`, // a good block, then a bad one
    ];
    const cases: [string, JsonValue, ParseTrustOptions][] = notCerts.flatMap((text) => [
      // Inline text is taken as PEM when it says so; anything else is a path for the resolver.
      ...(text.includes('-----BEGIN CERTIFICATE-----')
        ? [['inline', { attestation_roots: [ROOT, text] }, {}] as [string, JsonValue, ParseTrustOptions]]
        : []),
      ['resolved', { attestation_roots: [ROOT, 'roots/x.pem'] }, { resolveRoot: () => text }] as [
        string,
        JsonValue,
        ParseTrustOptions,
      ],
    ]);
    for (const [how, doc, options] of cases) {
      const err = thrown(() => parseTrustFile(doc, options));
      expect(err?.code, how).toBe('ERR_TRUST_FILE_INVALID');
      expect(err?.message).toContain('attestation_roots[1]');
      expect(err?.message).not.toContain('MCowBQYDK2Vw');
      expect(err?.message).not.toContain('hello');
    }
  });

  it('a resolver refusing an entry keeps its code, and the error names the entry', () => {
    const refuse = () => {
      throw new ErstError('ERR_FILE_NOT_FOUND', 'roots/missing.pem: no such file');
    };
    const err = thrown(() =>
      parseTrustFile({ attestation_roots: [ROOT, 'roots/missing.pem'] }, { resolveRoot: refuse }),
    );
    expect(err?.code).toBe('ERR_FILE_NOT_FOUND');
    expect(err?.message).toContain('attestation_roots[1]');
  });
});

describe("a trust file's log_keys, and members named __proto__ (attacks)", () => {
  const VKEY = 'example.com/log+2ed26742+AS7S1T39c5B/35hmv8SQWvXJJdazbirOig60YHgNjjsb';

  it('log_keys: each a verifier key, kept as given; absent, the policy has no logKeys', () => {
    expect(parseTrustFile({ log_keys: [VKEY] }).logKeys).toEqual([VKEY]);
    expect(parseTrustFile({ log_keys: [] }).logKeys).toEqual([]);
    expect(parseTrustFile({})).not.toHaveProperty('logKeys');
  });

  it('log_keys that are not verifier key strings: ERR_TRUST_FILE_INVALID naming the entry, never quoting it', () => {
    for (const bad of [{ log_keys: 'x' }, { log_keys: [7] }, { log_keys: ['secret+nonsense'] }, { log_keys: {} }]) {
      const e = thrown(() => parseTrustFile(bad as JsonValue));
      expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(e?.message).not.toContain('secret');
    }
    expect(thrown(() => parseTrustFile({ log_keys: [VKEY, 7] }))?.message).toContain('log_keys[1]');
  });

  it('a log origin with a control character is refused: in a trust file, and as the logKeys option', async () => {
    const { formatVerifierKey, parseVerifierKey } = await import('@erst/tlog');
    const key = parseVerifierKey(VKEY).publicKey;
    for (const origin of ['example.com/log\u001b[2J', 'example.com/\u0000log', 'log\u007f', 'log\u009b31m']) {
      const vkey = formatVerifierKey(origin, key);
      // The note format itself allows it (Go's does too); erst does not pin such a log.
      expect(() => parseVerifierKey(vkey)).not.toThrow();
      const e = thrown(() => parseTrustFile({ log_keys: [vkey] }));
      expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(e?.message).toContain('control character');
      expect(e?.message).not.toContain(origin);
      expect(code(() => new Verifier({ logKeys: [vkey] }))).toBe('ERR_OPTIONS_INVALID');
    }
  });

  it('"__proto__" as a member of the trust file is an unknown field, whatever its value', () => {
    for (const value of ['{}', '[]', '"x"', 'null']) {
      const e = thrown(() => parseTrustFile(`{"keys":[],"__proto__":${value}}`));
      expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
      expect(e?.message).toContain('unknown field "__proto__"');
    }
  });

  it('"__proto__" inside log_keys, tsa_roots or attestation_roots: an object there is refused as a list', () => {
    for (const field of ['log_keys', 'tsa_roots', 'attestation_roots']) {
      // An object whose one member is "__proto__": kept as a member by the strict parser, and not an array.
      const e = thrown(() => parseTrustFile(`{"${field}":{"__proto__":[]}}`));
      expect(e?.code, field).toBe('ERR_TRUST_FILE_INVALID');
      expect(e?.message, field).toContain(`"${field}" must be an array`);
    }
  });

  it('"__proto__" as an entry of those lists is a string like any other: not a key, not PEM, not a readable path', () => {
    const e = thrown(() => parseTrustFile('{"log_keys":["__proto__"]}'));
    expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(e?.message).toContain('log_keys[0] is not a verifier key');
    for (const field of ['tsa_roots', 'attestation_roots']) {
      // Without a resolver, a non-PEM entry is refused; with one, the resolver gets the string as it is.
      expect(code(() => parseTrustFile(`{"${field}":["__proto__"]}`))).toBe('ERR_TRUST_FILE_INVALID');
      const asked: string[] = [];
      const resolveRoot = (r: string): string => {
        asked.push(r);
        throw new ErstError('ERR_TRUST_FILE_INVALID', 'no such root');
      };
      expect(code(() => parseTrustFile(`{"${field}":["__proto__"]}`, { resolveRoot }))).toBe('ERR_TRUST_FILE_INVALID');
      expect(asked).toEqual(['__proto__']);
    }
  });

  it('a key entry\'s "__proto__" member is a member, never a prototype: no label or window comes in through it', () => {
    const text = `{"keys":[{"public_key":"${'ab'.repeat(32)}","__proto__":{"label":"injected","not_after":"2000-01-01"}}]}`;
    // The strict parser (text) and JSON.parse (a value) both make it an own member, which a key entry does not read.
    for (const input of [text, JSON.parse(text) as JsonValue]) {
      const policy = parseTrustFile(input);
      expect(policy.keys[0]!.label).toBeUndefined();
      expect(policy.keys[0]!.notAfter).toBeUndefined();
    }
  });
});
