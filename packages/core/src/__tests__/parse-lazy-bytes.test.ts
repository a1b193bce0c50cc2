import { readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import type { JsonObject } from '../json.js';
import { parseRecord, parseRecordBytes } from '../parse.js';
import { generateWithSigner, seedSigner, withLogProof } from '../sign.js';

describe('SignedRecord.hashInput (made lazily)', () => {
  it('is the UTF-8 of hashInputText, made once, and enumerable', () => {
    const rec = parseRecord(JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[0]!));
    const bytes = rec.hashInput;
    expect(new TextDecoder().decode(bytes)).toBe(rec.hashInputText);
    expect(rec.hashInput).toBe(bytes);
    expect(Object.keys(rec)).toContain('hashInput');
  });

  it('uses one getter for every record, so records share hidden classes (no per-record closure kept alive)', () => {
    const [a, b] = readVectorLines('erst-go-1.1.0.jsonl').map((l) => parseRecord(JSON.parse(l)));
    const ga = Object.getOwnPropertyDescriptor(a!, 'hashInput')!.get;
    const gb = Object.getOwnPropertyDescriptor(b!, 'hashInput')!.get;
    expect(typeof ga).toBe('function');
    expect(ga).toBe(gb);
  });
});

describe('SignedRecord.record of a compact record read by parseRecordBytes (parsed lazily)', () => {
  const enc = new TextEncoder();
  async function logged(): Promise<JsonObject> {
    const input = {
      transactionHash: 'ab'.repeat(32),
      payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: ['é 日本'], logs: ['x'] },
    };
    const now = () => new Date('2026-11-26T12:00:00.000Z');
    const rec = await generateWithSigner(seedSigner(new Uint8Array(32).fill(7)), input, { schema: '2.1.0', now });
    const proof = 'c2sp.org/tlog-proof@v1\nindex 0\n\nexample.com/log\n1\nAAAA\n\n— example.com/log AAAA\n';
    return withLogProof(rec, proof) as unknown as JsonObject;
  }

  it('is parsed when read, once, from a copy of the bytes unless they are borrowed', async () => {
    const value = await logged();
    const text = JSON.stringify(value);
    const bytes = enc.encode(text);
    const copied = parseRecordBytes(bytes);
    const borrowed = parseRecordBytes(bytes, { borrow: true });
    expect(Object.getOwnPropertyDescriptor(copied, 'record')?.get).toBeTypeOf('function');
    expect(Object.keys(copied)).toContain('record');
    // The caller's bytes change after the parse: a copy keeps the record as parsed; a borrower reads what is there.
    const at = enc.encode(text.slice(0, text.indexOf('"logs":["x"]'))).length;
    bytes.set(enc.encode('"logs":["z"]'), at);
    expect(copied.record).toEqual(value);
    expect(copied.record).toBe(copied.record);
    expect((borrowed.record.payload as JsonObject).logs).toEqual(['z']);
  });

  it('uses one getter for every record, and a record with whitespace is parsed whole, as before', async () => {
    const value = await logged();
    const [a, b] = [value, { ...value, extra: 1 }].map((v) => parseRecordBytes(enc.encode(JSON.stringify(v))));
    expect(Object.getOwnPropertyDescriptor(a!, 'record')!.get).toBe(Object.getOwnPropertyDescriptor(b!, 'record')!.get);
    const spaced = parseRecordBytes(enc.encode(JSON.stringify(value, null, 1)));
    expect(Object.getOwnPropertyDescriptor(spaced, 'record')?.get).toBeUndefined();
    expect(spaced.record).toEqual(value);
  });
});
