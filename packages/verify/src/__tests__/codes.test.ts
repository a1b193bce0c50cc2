import { readFileSync } from 'node:fs';
import {
  type AuditRecordV2,
  ERROR_CODES,
  type JsonObject,
  errorCategory,
  generateWithSigner,
  seedSigner,
} from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX, readVectorLines } from '@erst/fixtures';
import { BROKEN_VARIANTS, TestCa, attestationFor, brokenChain } from '@erst/test-ca';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import {
  VERIFY_ERROR_CODES,
  VERIFY_WARNING_CODES,
  Verifier,
  type VerifyResult,
  parseTrustFile,
  unreadableResult,
} from '../index.js';
import { OTHER_SEED, PAYLOAD, TEST_SEED, TX, signV2 } from './helpers.js';

const README = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
const NOW = new Date('2026-11-26T12:00:00.000Z');

/** The codes a README section lists, as `| \`CODE\` | ... |` table rows. */
function documented(heading: string): string[] {
  const start = README.indexOf(`\n## ${heading}\n`);
  expect(start, `README section "${heading}"`).toBeGreaterThan(-1);
  const end = README.indexOf('\n## ', start + 1);
  const section = README.slice(start, end === -1 ? undefined : end);
  return [...section.matchAll(/^\| `((?:ERR|WARN)_[A-Z0-9_]+)` \|/gm)].map((m) => m[1]!);
}

describe('the codes a VerifyResult can carry', () => {
  it('are exactly the ones the README documents', () => {
    expect(documented('Error codes')).toEqual([...VERIFY_ERROR_CODES]);
    expect(documented('Warning codes')).toEqual([...VERIFY_WARNING_CODES]);
  });

  it('are published @erst/core codes, frozen, and none of them a CLI usage or signer code', () => {
    expect(Object.isFrozen(VERIFY_ERROR_CODES)).toBe(true);
    expect(Object.isFrozen(VERIFY_WARNING_CODES)).toBe(true);
    for (const code of VERIFY_ERROR_CODES) {
      expect(ERROR_CODES, code).toContain(code);
      expect(['input', 'verification', 'internal'], code).toContain(errorCategory(code));
    }
  });
});

describe('a thorough run over known-bad records', () => {
  let ca: TestCa;
  beforeAll(async () => {
    ca = await TestCa.create({ now: NOW });
  });

  async function sign(
    seed: Uint8Array,
    extra: Partial<Parameters<typeof generateWithSigner>[2]> = {},
  ): Promise<AuditRecordV2> {
    return (await generateWithSigner(
      seedSigner(seed),
      { transactionHash: TX, payload: PAYLOAD },
      { attestation: null, now: () => NOW, ...extra },
    )) as AuditRecordV2;
  }

  /** Every result the run produced: each must carry only documented codes. */
  async function badResults(): Promise<VerifyResult[]> {
    const good = await signV2();
    const text = JSON.stringify(good);
    const pinned = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
    const open = new Verifier();
    const out: VerifyResult[] = [];
    const malformed: (string | Uint8Array)[] = [
      '',
      new Uint8Array([0x7b, 0xff, 0x7d]),
      '{"version":',
      '{"a":1,"a":2}',
      '{"a":"\\ud800"}',
      `${'['.repeat(200)}${']'.repeat(200)}`,
      '{"n":1e400}',
      '{"n":9007199254740993}',
      '[]',
      '{"hello":"world"}',
      JSON.stringify({ ...good, version: '9.9.9' }),
      JSON.stringify({ ...good, signature: undefined }),
      JSON.stringify({ ...good, signature: 42 }),
      JSON.stringify({ ...good, timestamp: 'yesterday' }),
      JSON.stringify({ ...good, algorithm: 'rsa' }),
      JSON.stringify({ ...JSON.parse(readVectorLines('erst-go-1.0.0.jsonl')[0]!), extra: 1 }),
    ];
    for (const m of malformed) out.push(await open.verify(m));
    out.push(await new Verifier({ maxBytes: 10 }).verify(text));
    // Tampered: a changed covered field, a swapped signature, a weak (small-order) key.
    out.push(await pinned.verify(JSON.stringify({ ...good, transaction_hash: 'f'.repeat(64) })));
    out.push(await pinned.verify(JSON.stringify({ ...good, signature: (await sign(OTHER_SEED)).signature })));
    out.push(await open.verify(JSON.stringify({ ...good, public_key: `01${'00'.repeat(31)}` })));
    // Trust: unpinned, outside the key's window, attestation required.
    out.push(await pinned.verify(JSON.stringify(await sign(OTHER_SEED))));
    const windowed = parseTrustFile({
      keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX, not_before: '2020-01-01', not_after: '2021-01-01' }],
    });
    out.push(await new Verifier({ trust: windowed }).verify(text));
    out.push(await new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], requireAttestation: true }).verify(text));
    // Bad attestations, every way the test CA can break a chain, and one from another root.
    const key = await seedSigner(TEST_SEED).publicKey();
    const attested = new Verifier({ attestationRoots: [ca.rootPem] });
    for (const variant of BROKEN_VARIANTS) {
      const b = await brokenChain(ca, variant, key);
      out.push(
        await attested.verify(
          JSON.stringify(await sign(TEST_SEED, { attestation: attestationFor(b.chain, { retrievedAt: NOW }) })),
        ),
      );
    }
    const foreign = await TestCa.create({ now: NOW });
    out.push(
      await attested.verify(
        JSON.stringify(
          await sign(TEST_SEED, { attestation: attestationFor(await foreign.chain(key), { retrievedAt: NOW }) }),
        ),
      ),
    );
    // Legacy formats with their own warnings, and a parsed object.
    for (const file of ['erst-go-1.0.0.jsonl', 'erst-go-1.1.0.jsonl', 'erst-ts-legacy.jsonl']) {
      for (const line of readVectorLines(file)) out.push(await pinned.verify(line));
    }
    out.push(await open.verify(good as unknown as JsonObject));
    // What a caller's file reading hands to unreadableResult.
    out.push(
      unreadableResult(Object.assign(new Error('x: no such file'), { name: 'ErstError', code: 'ERR_FILE_NOT_FOUND' })),
    );
    return out;
  }

  it('yields only codes in VERIFY_ERROR_CODES and VERIFY_WARNING_CODES, and reaches every kind of failure', async () => {
    const results = await badResults();
    const errors = new Set(results.flatMap((r) => r.errors.map((e) => e.code)));
    const warnings = new Set(results.flatMap((r) => r.warnings.map((w) => w.code)));
    for (const code of errors) expect(VERIFY_ERROR_CODES, code).toContain(code);
    for (const code of warnings) expect(VERIFY_WARNING_CODES, code).toContain(code);
    // The run is thorough: it reaches the families the README documents.
    for (const code of [
      'ERR_INPUT_EMPTY',
      'ERR_INPUT_TOO_LARGE',
      'ERR_JSON_SYNTAX',
      'ERR_JSON_DUPLICATE_KEY',
      'ERR_RECORD_UNKNOWN_FORMAT',
      'ERR_RECORD_UNSUPPORTED_VERSION',
      'ERR_RECORD_FIELD_UNKNOWN',
      'ERR_HASH_MISMATCH',
      'ERR_SIGNATURE_INVALID',
      'ERR_PUBLIC_KEY_WEAK',
      'ERR_KEY_NOT_TRUSTED',
      'ERR_KEY_OUTSIDE_VALIDITY',
      'ERR_ATTESTATION_REQUIRED',
      'ERR_ATTESTATION_UNTRUSTED_ROOT',
      'ERR_FILE_NOT_FOUND',
    ]) {
      expect(errors, code).toContain(code);
    }
    expect(errors).not.toContain('ERR_INTERNAL');
    expect(warnings).toContain('WARN_UNCOVERED_FIELDS');
    expect(warnings).toContain('WARN_PARSED_OBJECT_INPUT');
  });
});

describe('an unexpected exception is ERR_INTERNAL, never bad input', () => {
  afterEach(() => {
    vi.restoreAllMocks();
  });

  it('a TypeError while reading a parsed record', async () => {
    const rec = { ...(await signV2()) } as unknown as JsonObject;
    Object.defineProperty(rec, 'version', {
      enumerable: true,
      get() {
        throw new TypeError('boom while reading');
      },
    });
    const r = await new Verifier().verify(rec);
    expect(r.valid).toBe(false);
    // Before: ERR_RECORD_UNKNOWN_FORMAT, as if the record were malformed.
    expect(r.errors).toEqual([{ code: 'ERR_INTERNAL', message: 'TypeError: boom while reading' }]);
  });

  it('a key-import failure in the WebCrypto backend', async () => {
    // A key no other test imported, so no backend has it cached.
    const seed = new Uint8Array(32).fill(0x5a);
    const rec = JSON.stringify(await sign(seed));
    vi.spyOn(globalThis.crypto.subtle, 'importKey').mockRejectedValue(new TypeError('injected import failure'));
    const r = await new Verifier({ backend: 'webcrypto' }).verify(rec);
    expect(r.valid).toBe(false);
    // Before: the failure read as ERR_SIGNATURE_INVALID.
    expect(r.errors.map((e) => e.code)).toEqual(['ERR_INTERNAL']);
    expect(r.errors[0]!.message).toBe('TypeError: injected import failure');
    vi.restoreAllMocks();
    // A failed import is not cached: the next verification imports again.
    expect((await new Verifier({ backend: 'webcrypto' }).verify(rec)).errors).toEqual([]);
  });

  it('a key-import failure in the node:crypto backend, and a result for the other records', async () => {
    const nodeCrypto = process.getBuiltinModule('node:crypto');
    const seed = new Uint8Array(32).fill(0x5b);
    const rec = JSON.stringify(await sign(seed));
    vi.spyOn(nodeCrypto, 'createPublicKey').mockImplementation(() => {
      throw new TypeError('injected createPublicKey failure');
    });
    const results = await new Verifier({ backend: 'node' }).verifyMany([rec, '{']);
    expect(results.map((r) => r.errors.map((e) => e.code))).toEqual([['ERR_INTERNAL'], ['ERR_JSON_SYNTAX']]);
  });

  it('unreadableResult keeps the documented codes and calls anything else internal', () => {
    expect(
      unreadableResult(Object.assign(new Error('gone'), { name: 'ErstError', code: 'ERR_FILE_NOT_FOUND' })).errors,
    ).toEqual([{ code: 'ERR_FILE_NOT_FOUND', message: 'gone' }]);
    expect(unreadableResult(new RangeError('oops')).errors).toEqual([
      { code: 'ERR_INTERNAL', message: 'RangeError: oops' },
    ]);
  });

  async function sign(seed: Uint8Array): Promise<AuditRecordV2> {
    return (await generateWithSigner(
      seedSigner(seed),
      { transactionHash: TX, payload: PAYLOAD },
      { attestation: null, now: () => NOW },
    )) as AuditRecordV2;
  }
});
