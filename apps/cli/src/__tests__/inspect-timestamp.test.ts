import type { DescribedTimestampToken } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { timestampLines } from '../commands/audit-inspect.js';

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
