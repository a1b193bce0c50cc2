import { errorCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { parseTrustFile } from '../trust.js';
import { Verifier } from '../verify.js';
import { OTHER_SEED, signV2 } from './helpers.js';

const code = errorCode;

describe('trust files and key windows', async () => {
  const rec = await signV2(); // dated 2026-11-26T12:00:00Z
  const key = rec.public_key;

  it('a key inside its window is pinned, with its label', async () => {
    const trust = parseTrustFile(
      JSON.stringify({ keys: [{ public_key: key, algorithm: 'ed25519', label: 'prod-2026', not_before: '2026-01-01T00:00:00Z', not_after: '2027-01-01T00:00:00Z' }] }),
    );
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.valid).toBe(true);
    expect(r.trust).toBe('pinned');
    expect(r.key?.label).toBe('prod-2026');
  });

  it('a rotated key keeps verifying records from its window and fails outside it', async () => {
    const trust = parseTrustFile({ keys: [{ public_key: key, label: 'old', not_before: '2025-01-01T00:00:00Z', not_after: '2026-06-01T00:00:00Z' }] });
    const r = await new Verifier({ trust }).verify(JSON.stringify(rec));
    expect(r.valid).toBe(false);
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
    const old = { ...(await signV2()), timestamp: '2026-03-01T00:00:00.000Z' };
    // Changing the covered timestamp breaks the signature, so sign a record dated inside the window.
    expect((await new Verifier({ trust }).verify(JSON.stringify(old))).errors.map((e) => e.code)).toContain('ERR_HASH_MISMATCH');
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
    ['an algorithm that contradicts the key', `{"keys":[{"public_key":"${'11'.repeat(32)}","algorithm":"ecdsa-p256"}]}`],
    ['a bad date', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_before":"yesterday"}]}`],
    ['an inverted window', `{"keys":[{"public_key":"${'11'.repeat(32)}","not_before":"2027-01-01T00:00:00Z","not_after":"2026-01-01T00:00:00Z"}]}`],
    ['a root path without a resolver', '{"attestation_roots":["root.pem"]}'],
    ['a non-boolean require_attestation', '{"require_attestation":"yes"}'],
  ])('refuses a trust file with %s', (_n, text) => {
    expect(code(() => parseTrustFile(text))).toBe('ERR_TRUST_FILE_INVALID');
  });

  it('resolves root paths through the caller, since the verifier reads no files', () => {
    const seen: string[] = [];
    const p = parseTrustFile('{"attestation_roots":["roots/a.pem"]}', {
      resolveRoot: (ref) => {
        seen.push(ref);
        return '-----BEGIN CERTIFICATE-----\nAA==\n-----END CERTIFICATE-----\n';
      },
    });
    expect(seen).toEqual(['roots/a.pem']);
    expect(p.attestationRoots).toHaveLength(1);
  });
});
