import { describe, expect, it } from 'vitest';
import { isAscii, recordInput } from '../record-input.js';

const bytes = (s: string) => new TextEncoder().encode(s);

describe('what a verifier worker hands the Verifier', () => {
  it('ASCII at every alignment and length: the same text UTF-8 decoding gives', () => {
    const text = '{"format_version":"2.0.0","payload":{"logs":["x~\\u00e9"]}}';
    const buffer = new Uint8Array(text.length + 8);
    for (let offset = 0; offset < 4; offset++) {
      for (const end of [0, 1, 3, 5, text.length]) {
        const view = buffer.subarray(offset, offset + end);
        view.set(bytes(text.slice(0, end)));
        expect(isAscii(view)).toBe(true);
        expect(recordInput(view)).toBe(text.slice(0, end));
      }
    }
  });

  it('one byte of 0x80 or above anywhere (head, aligned words, tail): the bytes, for the verifier to decode', () => {
    for (const at of [0, 1, 4, 7, 9, 10]) {
      const b = bytes('abcdefghijk');
      b[at] = 0xe9;
      expect(isAscii(b)).toBe(false);
      // From offset 1: the high byte falls in an unaligned head, a word, or the tail.
      if (at >= 1) expect(isAscii(b.subarray(1))).toBe(false);
      expect(recordInput(b)).toBe(b);
    }
    // A BOM and invalid UTF-8 reach the verifier as bytes: its refusals (ERR_JSON_NOT_I_JSON, ERR_INPUT_NOT_UTF8) stand.
    const bom = new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]);
    expect(recordInput(bom)).toBe(bom);
  });
});
