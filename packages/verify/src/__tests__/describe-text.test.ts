import { readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { describeRecordText, describeResultText, timestampLines } from '../describe-text.js';
import { type DescribedTimestampToken, describeRecord } from '../describe.js';
import { Verifier } from '../verify.js';

const TOKEN: DescribedTimestampToken = {
  gen_time: '2026-12-01T05:20:34.000Z',
  tsa: 'CN=Erst Test TSA, O=Erst Test',
  serial: '0a1b',
  policy: '1.3.6.1.4.1.99999.3161.1',
  accuracy: 1500.1,
  hash_algorithm: 'SHA-256',
  imprint_matches_trace_hash: true,
  certificates: ['CN=Erst Test TSA, O=Erst Test', 'CN=Erst Test TSA Issuing CA, O=Erst Test'],
  error: null,
};

describe('erst audit inspect: the timestamp token', () => {
  it("shows genTime, TSA, serial, policy, accuracy and that the imprint is the record's, and says it is not verified", () => {
    const text = timestampLines(TOKEN).join('\n');
    expect(text).toContain('genTime 2026-12-01T05:20:34.000Z (accuracy ±1500.1 ms)');
    expect(text).toContain('not verified here');
    expect(text).toContain('TSA:            CN=Erst Test TSA, O=Erst Test');
    expect(text).toContain('serial:         0a1b');
    expect(text).toContain('policy:         1.3.6.1.4.1.99999.3161.1');
    expect(text).toContain('imprint:        matches trace_hash');
  });

  it('says so when the token is over another hash, states no accuracy, or does not parse', () => {
    const moved = timestampLines({ ...TOKEN, imprint_matches_trace_hash: false, accuracy: null }).join('\n');
    expect(moved).toContain('does NOT match trace_hash');
    expect(moved).toContain('no stated accuracy');
    const broken = { ...TOKEN, error: 'ERR_TIMESTAMP_MALFORMED', gen_time: null, imprint_matches_trace_hash: null };
    expect(timestampLines(broken)).toEqual(['timestamp token:  does not parse (ERR_TIMESTAMP_MALFORMED)']);
    expect(timestampLines(null)).toEqual(['timestamp token:  (none)']);
  });
});

describe('describeRecordText', () => {
  it('names no command of its own; the hints a program gives are added where reading stops short', async () => {
    const line = readVectorLines('erst-go-1.1.0.jsonl')[0]!;
    const d = await describeRecord(line);
    const plain = describeRecordText('r.json', d);
    expect(plain[0]).toBe('file:             r.json');
    expect(plain).toContain(`hash input:       ${d.hash_input_bytes} bytes`);
    expect(plain.join('\n')).not.toMatch(/--|erst /);
    const hinted = describeRecordText('r.json', d, { hashInput: 'print them with --hash-input' });
    expect(hinted).toContain(`hash input:       ${d.hash_input_bytes} bytes (print them with --hash-input)`);
    expect(hinted.at(-1)).toBe('attestation:      (none)');
  });
});

describe('describeResultText', () => {
  it('a verdict line with format, key and trust, then each error', async () => {
    const line = readVectorLines('erst-go-1.1.0.jsonl')[0]!;
    const ok = describeResultText('r.json', await new Verifier().verify(line));
    expect(ok[0]).toMatch(
      /^ok {3}r\.json: VALID \(format 1\.1\.0, ed25519 key [0-9a-f]{8}…[0-9a-f]{8}, trust embedded-only\)$/,
    );
    const bad = describeResultText('x.json', await new Verifier().verify('{'));
    expect(bad[0]).toBe('FAIL x.json: UNREADABLE');
    expect(bad[1]).toMatch(/^ {5}error ERR_JSON_SYNTAX: /);
  });
});
