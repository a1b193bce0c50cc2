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

  it('records longer than one call turns into characters (8192 bytes): the whole text, high-byte runs in place', () => {
    for (const n of [8191, 8192, 8193, 20_000, 70_000]) {
      const ascii = '{"a":"' + 'x~'.repeat(n).slice(0, n) + '"}';
      expect(recordInput(bytes(ascii))).toBe(ascii);
      const mixed = `{"a":"${'é'.padStart(n, 'y')}${'z'.repeat(9000)}é"}`;
      expect(recordInput(bytes(mixed))).toBe(mixed);
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

describe('records with bytes of 0x80 and above: decoded here exactly as strict UTF-8 decoding does', () => {
  const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
  /** What the Verifier would make of the bytes itself: their text, or a refusal (undefined). */
  const strict = (b: Uint8Array) => {
    try {
      return fatal.decode(b);
    } catch {
      return undefined;
    }
  };
  /** recordInput must give the strict text where there is one, and the very bytes where there is none. */
  const same = (b: Uint8Array) => {
    const text = strict(b);
    const got = recordInput(b);
    if (text === undefined || b[0]! >= 0x80) expect(got).toBe(b);
    else expect(got).toBe(text);
  };

  it('accented letters, symbols, CJK and astral characters, at every alignment', () => {
    const text = '{"logs":["unicode: üñïçödé ✓ 日本 #58013","𝄞 and 😀 at the end 😀"],"x":"é"}';
    const b = bytes(text);
    const buffer = new Uint8Array(b.length + 8);
    for (let offset = 0; offset < 4; offset++) {
      const view = buffer.subarray(offset, offset + b.length);
      view.set(b);
      expect(recordInput(view)).toBe(text);
    }
  });

  it('every malformed sequence the WHATWG decoder refuses: the bytes, for the verifier to refuse', () => {
    const cases = [
      [0x80], // continuation with no lead
      [0xbf],
      [0xc0, 0xaf], // overlong '/'
      [0xc1, 0xbf],
      [0xc3], // cut short at the end
      [0xc3, 0x28], // cut short by ASCII
      [0xe0, 0x80, 0xaf], // overlong three-byte
      [0xe0, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80], // a surrogate, U+D800
      [0xed, 0xbf, 0xbf],
      [0xe2, 0x82], // cut short
      [0xf0, 0x8f, 0xbf, 0xbf], // overlong four-byte
      [0xf4, 0x90, 0x80, 0x80], // past U+10FFFF
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xf0, 0x9f, 0x98], // cut short
      [0xe2, 0x82, 0xac, 0xac], // a stray continuation after a valid sequence
    ];
    for (const seq of cases) {
      for (const [before, after] of [
        ['{"a":"', '"}'],
        ['{"a":"x', ''],
        ['{"a":"é', 'é"}'],
      ]) {
        const b = new Uint8Array([...bytes(before!), ...seq, ...bytes(after!)]);
        expect(strict(b)).toBeUndefined();
        expect(recordInput(b)).toBe(b);
      }
    }
  });

  it('the valid edges of each sequence length', () => {
    for (const cp of [0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
      same(bytes(`{"a":"${String.fromCodePoint(cp)}${String.fromCodePoint(cp)}x${String.fromCodePoint(cp)}"}`));
    }
  });

  it('random bytes, mostly ASCII, and long runs of high bytes: the same text as strict decoding, or the bytes', () => {
    // A fixed generator: the same cases every run.
    let seed = 0x2f6b1d3;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    const alphabet = ['a', 'é', '✓', '日', '😀', '"', '\u0080', '\uffff'];
    for (let n = 0; n < 2000; n++) {
      // Valid text, then (often) one byte changed.
      let text = '{"a":"';
      const len = rand() % 40;
      for (let i = 0; i < len; i++) text += alphabet[rand() % alphabet.length];
      const b = bytes(`${text}"}`);
      if (n % 2 === 1) b[6 + (rand() % (b.length - 6))] = rand() & 0xff;
      same(b);
    }
    // Up to the budget of high bytes decoded here (4096), and past it: the bytes.
    const near = `{"a":"${'日本語'.repeat(400)}😀${'é'.repeat(240)}"}`;
    expect(recordInput(bytes(near))).toBe(near);
    const over = bytes(`{"a":"${'日本語'.repeat(500)}"}`);
    expect(recordInput(over)).toBe(over);
  });

  it('a record over the limit stays bytes: the limit counts bytes, and its text is shorter', () => {
    const b = bytes('{"a":"ééé"}');
    expect(recordInput(b, b.length)).toBe('{"a":"ééé"}');
    expect(recordInput(b, b.length - 1)).toBe(b);
  });
});

describe('records that are not mostly ASCII', () => {
  it('high bytes in many runs go to the verifier as bytes, bounded work whatever the size', () => {
    const b = bytes(`{"a":"${'é '.repeat(1_000_000)}"}`);
    const t = performance.now();
    expect(recordInput(b)).toBe(b);
    // Decoding a million runs one by one took seconds; giving up after a few hundred takes milliseconds.
    expect(performance.now() - t).toBeLessThan(2_000);
    // A few hundred runs are still decoded here.
    const some = `{"a":"${'é '.repeat(200)}"}`;
    expect(recordInput(bytes(some))).toBe(some);
  });

  it('a long run of high bytes (a record in Japanese) goes to the verifier as bytes, bounded work', () => {
    const b = bytes(`{"a":"${'日本語のログ'.repeat(200_000)}"}`);
    const t = performance.now();
    expect(recordInput(b)).toBe(b);
    expect(performance.now() - t).toBeLessThan(2_000);
  });
});
