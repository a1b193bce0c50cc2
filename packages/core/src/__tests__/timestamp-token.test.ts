import { errorCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { bytesToBase64, bytesToHex } from '../bytes.js';
import { hashInputTextV2, hashInputTextV2_1 } from '../hash-input.js';
import { type JsonObject, parseStrictJson } from '../json.js';
import { parseRecord } from '../parse.js';
import { type AuditRecordV2_1, MAX_TIMESTAMP_TOKEN_BYTES } from '../record.js';
import { sha256Utf8 } from '../sha256.js';
import { generateWithSigner, seedSigner, timestampImprint, withLogProof, withTimestampToken } from '../sign.js';

const seed = new Uint8Array(32).fill(7);
const input = { transactionHash: 'ab'.repeat(32), payload: { logs: ['real'], events: [] } as JsonObject };
const now = () => new Date('2026-11-26T12:00:00.000Z');
const PROOF = 'c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n1\nAAAA\n\n— example.com/log AAAA\n';
// Not a real token: core checks the field's encoding and size; @erst/verify checks what the bytes say.
const TOKEN = bytesToBase64(new Uint8Array([0x30, 0x03, 0x02, 0x01, 0x01]));

const record = () => generateWithSigner(seedSigner(seed), input, { schema: '2.1.0', now, attestation: null });
const parse = (rec: unknown) => parseRecord(parseStrictJson(JSON.stringify(rec)));

describe('2.1.0 timestamp_token', () => {
  it('is outside the hash input, like log_proof: adding one keeps trace_hash, and it is reported as a seal', async () => {
    const v21 = await record();
    const stamped = withTimestampToken(v21, TOKEN);
    const rec = parse(stamped);
    expect(rec.timestampToken).toBe(TOKEN);
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).toBe(v21.trace_hash);
    expect(rec.covered).not.toContain('timestamp_token');
    expect(rec.uncovered).toEqual([]);
    expect(parse(v21).timestampToken).toBeUndefined();
  });

  it('stays a covered member of a 2.0.0 record: each version keeps its own rule', async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now, attestation: null });
    const rec = parse({ ...v20, timestamp_token: TOKEN });
    expect(rec.covered).toContain('timestamp_token');
    expect(rec.timestampToken).toBeUndefined();
    expect(rec.hashInputText).toBe(hashInputTextV2({ ...(v20 as unknown as JsonObject), timestamp_token: TOKEN }));
    expect(hashInputTextV2_1({ version: '2.1.0', timestamp_token: TOKEN })).toBe('{"version":"2.1.0"}');
  });

  it('is canonical base64 of bounded size, or the record is refused with ERR_RECORD_FIELD_FORMAT', async () => {
    const v21 = await record();
    const bad = (token: unknown) => errorCode(() => parse({ ...v21, timestamp_token: token }));
    expect(bad(42)).toBe('ERR_RECORD_FIELD_TYPE');
    for (const token of ['', 'MAMCAQE', 'MAMC AQE=', 'MAMCAQF=', 'MAMCAQE=\n', '!!!!']) {
      expect(bad(token), JSON.stringify(token)).toBe('ERR_RECORD_FIELD_FORMAT');
    }
    const largest = bytesToBase64(new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES));
    expect(parse({ ...v21, timestamp_token: largest }).timestampToken).toBe(largest);
    expect(bad(bytesToBase64(new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES + 1)))).toBe('ERR_RECORD_FIELD_FORMAT');
    // Refused by its length before it is decoded.
    const huge = { ...v21, timestamp_token: 'A'.repeat(16 * 1024 * 1024) } as unknown as JsonObject;
    expect(errorCode(() => parseRecord(huge))).toBe('ERR_RECORD_FIELD_FORMAT');
  });
});

describe('2.0.0 is unchanged', () => {
  it('a 2.0.0 record is written byte for byte as before timestamp tokens existed', async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now, attestation: null });
    expect(v20.trace_hash).toBe('f51f5e3dc7b3c650764419bbaf41df48c5f34b5d1283013a0b9f08d619400d57');
    expect(bytesToHex(sha256Utf8(JSON.stringify(v20)))).toBe(
      'e236d2651614395ee257a95f19e061738068ec519c919c542019629400677edf',
    );
  });
});

describe('withTimestampToken', () => {
  it('places the token after signature and before log_proof, whatever the order read: the same bytes every time', async () => {
    const v21 = await record();
    const stamped = withTimestampToken(v21, TOKEN);
    expect(Object.keys(stamped).slice(-3)).toEqual(['trace_hash', 'signature', 'timestamp_token']);
    // Token then proof, or proof then token: one serialization.
    const both = JSON.stringify(withLogProof(stamped, PROOF));
    expect(Object.keys(JSON.parse(both)).slice(-2)).toEqual(['timestamp_token', 'log_proof']);
    expect(JSON.stringify(withTimestampToken(withLogProof(v21, PROOF), TOKEN))).toBe(both);
    // Replacing a token already there, in any member order.
    const reordered = Object.fromEntries(Object.entries(JSON.parse(both)).reverse()) as unknown as AuditRecordV2_1;
    const again = withTimestampToken(withTimestampToken(reordered, 'AAAA'), TOKEN);
    expect(Object.keys(again).slice(-2)).toEqual(['timestamp_token', 'log_proof']);
    expect(again.timestamp_token).toBe(TOKEN);
    expect(Object.hasOwn(v21, 'timestamp_token')).toBe(false);
  });

  it('keeps a "__proto__" member a member', () => {
    const rec = parseStrictJson(
      '{"version":"2.1.0","__proto__":{"x":1},"trace_hash":"00","signature":"00"}',
    ) as unknown as AuditRecordV2_1;
    expect(JSON.stringify(withTimestampToken(rec, TOKEN))).toContain('"__proto__":{"x":1}');
  });

  it('refuses a record of another version and a token that is not canonical bounded base64', async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now });
    const v21 = await record();
    const thrown = (fn: () => unknown) => {
      try {
        fn();
      } catch (e) {
        return e as { code: string; details?: unknown };
      }
      return undefined;
    };
    expect(thrown(() => withTimestampToken(v20 as unknown as AuditRecordV2_1, TOKEN))).toMatchObject({
      code: 'ERR_OPTIONS_INVALID',
      details: { options: ['record'] },
    });
    for (const token of ['', 42, 'MAMCAQE', bytesToBase64(new Uint8Array(MAX_TIMESTAMP_TOKEN_BYTES + 1))]) {
      expect(thrown(() => withTimestampToken(v21, token as string))).toMatchObject({
        code: 'ERR_OPTIONS_INVALID',
        details: { options: ['token'] },
      });
    }
  });
});

describe('timestampImprint', () => {
  it("is the 32 raw bytes of the record's trace_hash", async () => {
    const v21 = await record();
    const imprint = timestampImprint(v21);
    expect(imprint).toBeInstanceOf(Uint8Array);
    expect(bytesToHex(imprint)).toBe(v21.trace_hash);
  });

  it('refuses what is not a 2.1.0 record with a trace_hash', async () => {
    const v20 = await generateWithSigner(seedSigner(seed), input, { now });
    const v21 = await record();
    expect(errorCode(() => timestampImprint(v20 as unknown as AuditRecordV2_1))).toBe('ERR_OPTIONS_INVALID');
    expect(errorCode(() => timestampImprint({ ...v21, trace_hash: 'AB'.repeat(32) }))).toBe('ERR_OPTIONS_INVALID');
    expect(errorCode(() => timestampImprint({ ...v21, trace_hash: 'ab' }))).toBe('ERR_OPTIONS_INVALID');
  });
});
