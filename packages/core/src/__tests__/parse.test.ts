import { errorCode, readVectorLines } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { publicKeyFromRaw, publicKeyToPem } from '../keys.js';
import { parseStrictJson } from '../json.js';
import { isRfc3339, parseRecord, parseRfc3339 } from '../parse.js';

describe('isRfc3339 / parseRfc3339', () => {
  it.each([
    ['2026-11-26T12:00:00Z', '2026-11-26T12:00:00.000Z'],
    ['2026-11-26T12:00:41.624686471Z', '2026-11-26T12:00:41.624Z'],
    ['2024-02-29T23:59:59.5+05:30', '2024-02-29T18:29:59.500Z'],
    ['2026-01-01T00:00:00-23:59', '2026-01-01T23:59:00.000Z'],
    ['0001-01-01T00:00:00Z', '0001-01-01T00:00:00.000Z'],
  ])('reads %s as %s', (text, iso) => {
    expect(isRfc3339(text)).toBe(true);
    expect(parseRfc3339(text)?.toISOString()).toBe(iso);
  });

  it.each([
    '2026-02-30T00:00:00Z',
    '2023-02-29T00:00:00Z',
    '2026-04-31T00:00:00Z',
    '2026-13-01T00:00:00Z',
    '2026-00-10T00:00:00Z',
    '2026-01-00T00:00:00Z',
    '2026-01-01T24:00:00Z',
    '2026-01-01T23:60:00Z',
    '2026-01-01T23:59:60Z',
    '2026-01-01T00:00:00+24:00',
    '2026-01-01T00:00:00+01:60',
    '2026-01-01 00:00:00Z',
    '2026-01-01T00:00:00',
    'yesterday',
  ])('refuses %s: no such date and time', (text) => {
    expect(isRfc3339(text)).toBe(false);
    expect(parseRfc3339(text)).toBeUndefined();
  });

  // isRfc3339 checks ranges by arithmetic, parseRfc3339 by reading fields back from a Date: they must agree on every
  // day of leap, common, century and 400-year years, every boundary time, and every boundary offset.
  it('isRfc3339 agrees with parseRfc3339 on every day, boundary time and offset', () => {
    const two = (n: number) => String(n).padStart(2, '0');
    let checked = 0;
    for (const year of ['0000', '0001', '0004', '0100', '0400', '1900', '2000', '2023', '2024', '2100', '9999']) {
      for (let month = 0; month <= 13; month++) {
        for (let day = 0; day <= 32; day++) {
          for (const time of ['00:00:00', '23:59:59', '24:00:00', '12:60:00', '12:00:60', '99:99:99']) {
            for (const zone of ['Z', '+23:59', '-24:00', '+00:60', '.5Z', '.123456789-00:00']) {
              const text = `${year}-${two(month)}-${two(day)}T${time}${zone}`;
              expect(isRfc3339(text), text).toBe(parseRfc3339(text) !== undefined);
              checked++;
            }
          }
        }
      }
    }
    expect(checked).toBe(11 * 14 * 33 * 6 * 6);
  });
});

describe('parseRecord: dates', () => {
  const v1 = () => {
    const rec = JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[0]!);
    return rec as Record<string, unknown>;
  };

  it('refuses an impossible timestamp in any format', () => {
    const rec = v1();
    rec.timestamp = '2026-02-30T12:00:00Z';
    expect(errorCode(() => parseRecord(parseStrictJson(JSON.stringify(rec))))).toBe('ERR_RECORD_FIELD_FORMAT');
  });

  it('erst TS records: a trace.timestamp that is not a date is an error, not a date inside every key window', () => {
    const line = readVectorLines('erst-ts-legacy.jsonl')[0]!;
    expect(parseRecord(parseStrictJson(line)).timestamp).toBe('2026-11-26T12:00:00.000Z');
    for (const bad of ['"whenever"', '"2026-02-30T12:00:00.000Z"', '"2026-11-26T24:00:00.000Z"']) {
      const tampered = line.replace('"timestamp":"2026-11-26T12:00:00.000Z"', `"timestamp":${bad}`);
      expect(tampered).not.toBe(line);
      expect(
        errorCode(() => parseRecord(parseStrictJson(tampered))),
        bad,
      ).toBe('ERR_RECORD_FIELD_FORMAT');
    }
    const numeric = line.replace('"timestamp":"2026-11-26T12:00:00.000Z"', '"timestamp":1764158400000');
    expect(errorCode(() => parseRecord(parseStrictJson(numeric)))).toBe('ERR_RECORD_FIELD_TYPE');
  });
});

describe('parseRecord: erst TS publicKey', () => {
  const line = readVectorLines('erst-ts-legacy.jsonl')[0]!;
  const pem = (JSON.parse(line) as { publicKey: string }).publicKey;
  const withKey = (text: string) => line.replace(JSON.stringify(pem), JSON.stringify(text));

  it('takes exactly one SPKI PEM block, with or without its final line break', () => {
    expect(parseRecord(parseStrictJson(withKey(pem.trimEnd()))).format).toBe('erst-ts');
  });

  it.each([
    ['text before the block', `Key of the audit team\n${pem}`],
    ['text after the block', `${pem}(rotated 2027)`],
    ['a second block', pem + publicKeyToPem(publicKeyFromRaw(new Uint8Array(32).fill(9)))],
  ])('refuses %s', (_name, text) => {
    expect(errorCode(() => parseRecord(parseStrictJson(withKey(text))))).toBe('ERR_RECORD_FIELD_FORMAT');
  });
});

describe("parseRecord reads only the record's own members", () => {
  it('ignores members inherited from a polluted Object.prototype', () => {
    const line = readVectorLines('erst-go-1.0.0.jsonl')[0]!;
    const proto = Object.prototype as Record<string, unknown>;
    proto.hardware_attestation = {
      certificates: null,
      token_info: 'x',
      key_non_exportable: true,
      retrieved_at: '2026-01-01T00:00:00Z',
    };
    try {
      const rec = parseRecord(parseStrictJson(line));
      expect(rec.attestation).toBeUndefined();
    } finally {
      delete proto.hardware_attestation;
    }
  });
});
