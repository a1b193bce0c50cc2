import { describe, expect, it } from 'vitest';
import { TIMESTAMP_SKEW_MS, checkTimestampOrder } from '../index.js';

function code(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { code: string }).code;
  }
  return 'no error';
}

describe('checkTimestampOrder', () => {
  const gen = '2026-12-01T12:00:00.000Z';

  it('accepts a record dated before genTime, or after it by up to the skew (5 minutes unless told)', () => {
    expect(TIMESTAMP_SKEW_MS).toBe(300_000);
    expect(code(() => checkTimestampOrder('2026-12-01T11:00:00Z', gen))).toBe('no error');
    expect(code(() => checkTimestampOrder('2026-12-01T12:05:00Z', gen))).toBe('no error');
    expect(code(() => checkTimestampOrder(new Date('2026-12-01T12:00:01Z'), new Date(gen), 1000))).toBe('no error');
  });

  it('refuses a record dated later than genTime beyond the skew: ERR_TIMESTAMP_BEFORE_RECORD', () => {
    expect(code(() => checkTimestampOrder('2026-12-01T12:05:00.001Z', gen))).toBe('ERR_TIMESTAMP_BEFORE_RECORD');
    expect(code(() => checkTimestampOrder('2026-12-01T12:00:00.001Z', gen, 0))).toBe('ERR_TIMESTAMP_BEFORE_RECORD');
    // Offsets are times like any other: 13:10+01:00 is 12:10Z.
    expect(code(() => checkTimestampOrder('2026-12-01T13:10:00+01:00', gen))).toBe('ERR_TIMESTAMP_BEFORE_RECORD');
  });

  it.each([
    ['recordTimestamp', () => checkTimestampOrder('yesterday', gen)],
    ['genTime', () => checkTimestampOrder(gen, new Date(Number.NaN))],
    ['skewMs', () => checkTimestampOrder(gen, gen, -1)],
    ['skewMs', () => checkTimestampOrder(gen, gen, Number.POSITIVE_INFINITY)],
  ])('refuses a bad `%s`: ERR_OPTIONS_INVALID', (option, fn) => {
    try {
      fn();
      expect.unreachable();
    } catch (e) {
      expect(e).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: [option] } });
    }
  });
});
