import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { type JsonObject, parseStrictJson } from '../json.js';
import { parseRecord } from '../parse.js';
import { sha256Utf8 } from '../sha256.js';
import { generate } from '../sign.js';

const seed = new Uint8Array(32).fill(7);

describe('generateWithSigner', () => {
  it('signs a "__proto__" member of the payload: the written record verifies, and changing it breaks the hash', async () => {
    const payload = parseStrictJson('{"logs":["real"],"__proto__":{"logs":["shown by naive readers"]}}') as JsonObject;
    const record = await generate({ transactionHash: 'ab'.repeat(32), payload }, seed);
    const text = JSON.stringify(record);
    expect(text).toContain('"__proto__":{"logs":["shown by naive readers"]}');
    const rec = parseRecord(parseStrictJson(text));
    expect(rec.hashInputText).toContain('"payload":{"__proto__":{"logs":["shown by naive readers"]},"logs":["real"]}');
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).toBe(record.trace_hash);
    const tampered = parseRecord(parseStrictJson(text.replace('shown by naive readers', 'FORGED')));
    expect(bytesToHex(sha256Utf8(tampered.hashInputText))).not.toBe(record.trace_hash);
  });
});
