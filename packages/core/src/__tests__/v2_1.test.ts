import { errorCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { isErstError } from '../errors.js';
import { hashInputTextV2, hashInputTextV2_1 } from '../hash-input.js';
import { type JsonObject, parseStrictJson } from '../json.js';
import { detectFormat, parseRecord } from '../parse.js';
import { type AuditRecordV2_1, MAX_LOG_PROOF_BYTES, RECORD_FORMATS } from '../record.js';
import { sha256Utf8 } from '../sha256.js';
import { generateWithSigner, seedSigner, withLogProof } from '../sign.js';
import type { Signer } from '../signer.js';

const seed = new Uint8Array(32).fill(7);
const input = { transactionHash: 'ab'.repeat(32), payload: { logs: ['real'], events: [] } as JsonObject };
const now = () => new Date('2026-11-26T12:00:00.000Z');
const PROOF = 'c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n1\nAAAA\n\n— example.com/log AAAA\n';

/** A signer whose `sign` must not be called. */
function keyOnly(): Signer & { signs: number } {
  const inner = seedSigner(seed);
  const s = {
    algorithm: inner.algorithm,
    signs: 0,
    publicKey: () => inner.publicKey(),
    sign: async () => {
      s.signs++;
      throw new Error('sign() called');
    },
  };
  return s;
}

describe('2.1.0 records', () => {
  it('is a known, writable format', () => {
    expect(RECORD_FORMATS).toContain('2.1.0');
    expect(detectFormat({ version: '2.1.0' })).toBe('2.1.0');
  });

  it("hashes exactly 2.0.0's hash input with version 2.1.0, and keeps 2.0.0's member order", async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now, attestation: null });
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now, attestation: null });
    expect(Object.keys(v21)).toEqual(Object.keys(v20));
    expect(hashInputTextV2_1(v21 as unknown as JsonObject)).toBe(
      hashInputTextV2({ ...(v20 as unknown as JsonObject), version: '2.1.0' }),
    );
    const rec = parseRecord(parseStrictJson(JSON.stringify(v21)));
    expect(rec.format).toBe('2.1.0');
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).toBe(v21.trace_hash);
    expect(rec.signature).toBeInstanceOf(Uint8Array);
    expect(rec.logProof).toBeUndefined();
    expect(rec.covered).toEqual(['version', 'timestamp', 'transaction_hash', 'algorithm', 'public_key', 'payload']);
    expect(rec.uncovered).toEqual([]);
  });

  it('recordSignature false: the signer is asked for its key only, and the record has no signature', async () => {
    const signer = keyOnly();
    const rec = await generateWithSigner(signer, input, {
      schema: '2.1.0',
      recordSignature: false,
      now,
      attestation: null,
    });
    expect(signer.signs).toBe(0);
    expect(Object.hasOwn(rec, 'signature')).toBe(false);
    const signed = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now, attestation: null });
    expect(rec.trace_hash).toBe(signed.trace_hash);
  });

  it('recordSignature must be a boolean, and false only with schema 2.1.0', async () => {
    for (const options of [
      { recordSignature: false },
      { schema: '2.0.0', recordSignature: false },
      { schema: '1.1.0', recordSignature: false },
      { schema: '2.1.0', recordSignature: 'no' },
    ]) {
      const signer = keyOnly();
      const err = await generateWithSigner(signer, input, options as never).catch((e: unknown) => e);
      expect(isErstError(err, 'ERR_OPTIONS_INVALID'), JSON.stringify(options)).toBe(true);
      expect((err as { details: { options: string[] } }).details.options).toContain('recordSignature');
      expect(signer.signs).toBe(0);
    }
  });

  it('a record with neither signature nor log_proof is refused with its own code', async () => {
    const rec = await generateWithSigner(keyOnly(), input, { schema: '2.1.0', recordSignature: false, now });
    expect(errorCode(() => parseRecord(parseStrictJson(JSON.stringify(rec))))).toBe('ERR_RECORD_NO_SIGNATURE_OR_PROOF');
    const sealed = parseRecord(parseStrictJson(JSON.stringify(withLogProof(rec, PROOF))));
    expect(sealed.signature).toBeUndefined();
    expect(sealed.logProof).toBe(PROOF);
    expect(bytesToHex(sha256Utf8(sealed.hashInputText))).toBe(rec.trace_hash);
  });

  it('log_proof is outside the hash input in 2.1.0, and stays a covered member of a 2.0.0 record', async () => {
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now });
    const a = parseRecord(parseStrictJson(JSON.stringify(withLogProof(v21, PROOF))));
    const b = parseRecord(parseStrictJson(JSON.stringify(withLogProof(v21, `${PROOF}x`))));
    expect(a.hashInputText).toBe(b.hashInputText);
    expect(a.covered).not.toContain('log_proof');
    const v20 = await generateWithSigner(seedSigner(seed), input, { now });
    const rec = parseRecord(parseStrictJson(JSON.stringify({ ...v20, log_proof: PROOF })));
    expect(rec.covered).toContain('log_proof');
    expect(rec.logProof).toBeUndefined();
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).not.toBe(v20.trace_hash);
  });

  it('keeps and covers members it does not know, "__proto__" included, as 2.0.0 does', async () => {
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now });
    const text = JSON.stringify(v21).replace('{', '{"__proto__":{"x":1},"note":"extra",');
    const rec = parseRecord(parseStrictJson(text));
    expect(rec.covered).toEqual(expect.arrayContaining(['__proto__', 'note']));
    expect(rec.hashInputText).toContain('"__proto__":{"x":1}');
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).not.toBe(v21.trace_hash);
  });

  it('log_proof is a string of bounded size', async () => {
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now });
    const parse = (proof: unknown) => () => parseRecord(parseStrictJson(JSON.stringify({ ...v21, log_proof: proof })));
    expect(errorCode(parse(42))).toBe('ERR_RECORD_FIELD_TYPE');
    expect(errorCode(parse(null))).toBe('ERR_RECORD_FIELD_TYPE');
    expect(errorCode(parse('x'.repeat(MAX_LOG_PROOF_BYTES + 1)))).toBe('ERR_RECORD_FIELD_FORMAT');
    // Counted in UTF-8 bytes, not UTF-16 units.
    expect(errorCode(parse('é'.repeat(MAX_LOG_PROOF_BYTES / 2 + 1)))).toBe('ERR_RECORD_FIELD_FORMAT');
    expect(parse('x'.repeat(MAX_LOG_PROOF_BYTES))().logProof).toHaveLength(MAX_LOG_PROOF_BYTES);
  });
});

describe('withLogProof', () => {
  it('puts log_proof last whatever the member order, replacing one already there: the same bytes every time', async () => {
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now });
    const once = JSON.stringify(withLogProof(v21, PROOF));
    expect(Object.keys(JSON.parse(once)).at(-1)).toBe('log_proof');
    const reordered = Object.fromEntries(Object.entries(v21).reverse()) as unknown as AuditRecordV2_1;
    expect(JSON.stringify(withLogProof(withLogProof(reordered, 'old'), PROOF))).toBe(
      JSON.stringify(withLogProof(Object.fromEntries(Object.entries(reordered)) as AuditRecordV2_1, PROOF)),
    );
    expect(JSON.stringify(withLogProof(withLogProof(v21, 'old'), PROOF))).toBe(once);
    expect(Object.hasOwn(v21, 'log_proof')).toBe(false);
  });

  it('keeps a "__proto__" member a member', () => {
    const rec = parseStrictJson(
      '{"version":"2.1.0","__proto__":{"x":1},"trace_hash":"00","signature":"00"}',
    ) as unknown as AuditRecordV2_1;
    expect(JSON.stringify(withLogProof(rec, PROOF))).toContain('"__proto__":{"x":1}');
  });

  it('refuses a record of another version and a proof that is not bounded text', async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now });
    const v21 = await generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now });
    expect(errorCode(() => withLogProof(v20 as unknown as AuditRecordV2_1, PROOF))).toBe('ERR_OPTIONS_INVALID');
    expect(errorCode(() => withLogProof(null as unknown as AuditRecordV2_1, PROOF))).toBe('ERR_OPTIONS_INVALID');
    for (const proof of ['', 42, 'x'.repeat(MAX_LOG_PROOF_BYTES + 1)]) {
      expect(errorCode(() => withLogProof(v21, proof as string))).toBe('ERR_OPTIONS_INVALID');
    }
  });
});
