import { errorCode, readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { bytesToHex } from '../bytes.js';
import { parseStrictJson } from '../json.js';
import { parseRecord } from '../parse.js';
import { sha256Utf8 } from '../sha256.js';
import { generate } from '../sign.js';

const FORGED = '"__proto__":{"logs":["FORGED"]}';

/** A vector record with a "__proto__" member inserted after `anchor`, parsed strictly. */
function withProto(file: string, anchor: string, line = 0) {
  const text = readVectorLines(file)[line]!;
  expect(text).toContain(anchor);
  return parseRecord(parseStrictJson(text.replace(anchor, `${anchor}${FORGED},`)));
}

describe('hash inputs keep every member of the record, "__proto__" included', () => {
  it('2.0.0: a "__proto__" member in payload or at the top level is hashed, so adding one breaks trace_hash', async () => {
    const record = await generate(
      { transactionHash: 'ab'.repeat(32), payload: { logs: ['real'], events: [] } },
      new Uint8Array(32).fill(7),
    );
    const text = JSON.stringify(record);
    for (const tampered of [text.replace('"payload":{', `"payload":{${FORGED},`), text.replace('{', `{${FORGED},`)]) {
      const rec = parseRecord(parseStrictJson(tampered));
      expect(rec.hashInputText).toContain(FORGED);
      expect(bytesToHex(sha256Utf8(rec.hashInputText))).not.toBe(rec.claimedHash);
    }
  });

  it('erst TypeScript records: a "__proto__" member in trace is hashed', () => {
    const rec = withProto('erst-ts-legacy.jsonl', '{"trace":{');
    expect(rec.hashInputText).toContain(FORGED);
    expect(bytesToHex(sha256Utf8(rec.hashInputText))).not.toBe(rec.claimedHash);
  });

  it.each(['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl'])(
    '%s: a "__proto__" member is an unknown field, in payload or at the top',
    (file) => {
      expect(errorCode(() => withProto(file, '"payload":{'))).toBe('ERR_RECORD_FIELD_UNKNOWN');
      expect(errorCode(() => withProto(file, '{'))).toBe('ERR_RECORD_FIELD_UNKNOWN');
    },
  );
});
