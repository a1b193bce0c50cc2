import { describe, expect, it } from 'vitest';
import { type JsonValue, parseSignDocument } from '../index.js';

const TX = 'ab'.repeat(32);
const PAYLOAD = { envelope_xdr: 'AAAA', logs: ['l'] };

function refusal(doc: JsonValue, transactionHash?: string): Record<string, unknown> | string {
  try {
    parseSignDocument(doc, { transactionHash });
  } catch (e) {
    const err = e as { code: string; details?: Record<string, unknown> };
    expect(err.code).toBe('ERR_PAYLOAD_INVALID');
    return err.details ?? {};
  }
  return 'accepted';
}

describe('parseSignDocument: one reading for --payload and for every --batch line', () => {
  it('reads {transaction_hash, payload}, and a bare payload with the hash given apart', () => {
    expect(parseSignDocument({ transaction_hash: TX, payload: PAYLOAD })).toEqual({
      transactionHash: TX,
      payload: PAYLOAD,
    });
    expect(parseSignDocument(PAYLOAD, { transactionHash: TX })).toEqual({ transactionHash: TX, payload: PAYLOAD });
    // The same hash given both ways is no conflict.
    expect(parseSignDocument({ transaction_hash: TX, payload: PAYLOAD }, { transactionHash: TX }).transactionHash).toBe(
      TX,
    );
  });

  it('holds anything with a transaction_hash or payload member to the wrapped form, never signing it as a payload', () => {
    // Before, a wrapper with one extra member was taken as a bare payload and signed whole.
    expect(refusal({ transaction_hash: TX, payload: PAYLOAD, note: 'x' }, TX)).toEqual({ field: 'note' });
    expect(refusal({ transaction_hash: TX, payload: PAYLOAD, note: 'x' })).toEqual({ field: 'note' });
    expect(refusal({ payload: PAYLOAD }, TX)).toEqual({ field: 'transaction_hash' });
    expect(refusal({ transaction_hash: TX })).toEqual({ field: 'payload' });
    expect(refusal({ transaction_hash: TX, payload: [] })).toEqual({ field: 'payload' });
    expect(refusal({ transaction_hash: 'AB'.repeat(32), payload: PAYLOAD })).toEqual({ field: 'transaction_hash' });
  });

  it('says what is missing or conflicting in details, without quoting either hash', () => {
    expect(refusal(PAYLOAD)).toEqual({ missing: 'transactionHash' });
    expect(refusal({ transaction_hash: TX, payload: PAYLOAD }, 'cd'.repeat(32))).toEqual({
      conflict: 'transactionHash',
    });
    try {
      parseSignDocument({ transaction_hash: TX, payload: PAYLOAD }, { transactionHash: 'cd'.repeat(32) });
    } catch (e) {
      expect((e as Error).message).not.toContain('cd'.repeat(32));
      expect((e as Error).message).not.toContain(TX);
    }
    expect(refusal(PAYLOAD, 'not hex')).toEqual({ field: 'transactionHash' });
  });

  it('refuses what is not an object', () => {
    for (const doc of [null, [], 'x', 1, true] as JsonValue[]) expect(refusal(doc, TX)).toEqual({ field: '$' });
  });

  it('keeps a __proto__ member of a bare payload as payload content', () => {
    const doc = JSON.parse('{"logs":["l"],"__proto__":{"x":1}}') as JsonValue;
    const { payload } = parseSignDocument(doc, { transactionHash: TX });
    expect(Object.keys(payload)).toEqual(['logs', '__proto__']);
  });
});
