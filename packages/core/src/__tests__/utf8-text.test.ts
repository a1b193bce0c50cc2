import { describe, expect, it } from 'vitest';
import { type DecodedText, decodeUtf8Text, hasControlByte, isAscii, isDecodableUtf8 } from '../utf8-text.js';

const bytes = (s: string) => new TextEncoder().encode(s);
const fatal = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
/** What strict decoding makes of the bytes: their text, or a refusal (undefined). */
const strict = (b: Uint8Array) => {
  try {
    return fatal.decode(b);
  } catch {
    return undefined;
  }
};

/** The byte offset of every text offset, as DecodedText gives it. */
function byteOffsets(d: DecodedText): number[] {
  const out: number[] = [];
  let k = -1;
  for (let t = 0; t <= d.text.length; t++) {
    while (k + 1 < d.runEnds.length && d.runEnds[k + 1]! <= t) k++;
    out.push(t + (k < 0 ? 0 : d.shifts[k]!));
  }
  return out;
}

/** decodeUtf8Text, after checking that isDecodableUtf8 (no text made) says yes exactly when it decodes. */
function decoded(b: Uint8Array): DecodedText | undefined {
  const got = decodeUtf8Text(b);
  expect(isDecodableUtf8(b)).toBe(got !== undefined);
  return got;
}

/** decodeUtf8Text gives the strict text or nothing, never another text; and its offsets are right at every ASCII character. */
function same(b: Uint8Array): void {
  const text = strict(b);
  const got = decoded(b);
  if (text === undefined) {
    expect(got).toBeUndefined();
    return;
  }
  if (!got) return; // left to the platform (over the budget of high bytes)
  expect(got.text).toBe(text);
  const offsets = byteOffsets(got);
  const wrong: number[] = [];
  for (let t = 0; t < text.length; t++) {
    if (text.charCodeAt(t) < 0x80 && b[offsets[t]!] !== text.charCodeAt(t)) wrong.push(t);
  }
  expect(wrong).toEqual([]);
  expect(offsets[text.length]).toBe(b.length);
}

describe('decodeUtf8Text: strict UTF-8 decoding, and where text and byte offsets part', () => {
  it('ASCII at every alignment and length: the same text, the same offsets', () => {
    const text = '{"format_version":"2.0.0","payload":{"logs":["x~\\u00e9"]}}';
    const buffer = new Uint8Array(text.length + 8);
    for (let offset = 0; offset < 4; offset++) {
      for (const end of [0, 1, 3, 5, text.length]) {
        const view = buffer.subarray(offset, offset + end);
        view.set(bytes(text.slice(0, end)));
        expect(isAscii(view)).toBe(true);
        expect(decoded(view)).toEqual({ text: text.slice(0, end), runEnds: [], shifts: [] });
      }
    }
  });

  it('one byte of 0x80 or above anywhere (head, aligned words, tail) is seen', () => {
    for (const at of [0, 1, 4, 7, 9, 10]) {
      const b = bytes('abcdefghijk');
      b[at] = 0xe9;
      expect(isAscii(b)).toBe(false);
      if (at >= 1) expect(isAscii(b.subarray(1))).toBe(false);
      expect(decoded(b)).toBeUndefined(); // a lone 0xe9: not UTF-8
    }
    // A byte-order mark is kept, as strict decoding with ignoreBOM keeps it (parsers then refuse it).
    expect(decoded(new Uint8Array([0xef, 0xbb, 0xbf, 0x7b, 0x7d]))?.text).toBe('\ufeff{}');
  });

  it('long records, pieces on both sides of one call (8192 characters)', () => {
    for (const n of [10, 8191, 8192, 8193, 20_000, 70_000]) {
      const ascii = `{"a":"${'x~'.repeat(n).slice(0, n)}"}`;
      same(bytes(ascii));
      same(bytes(`{"a":"${'é'.padStart(n, 'y')}${'z'.repeat(9000)}é"}`));
      same(bytes(`é${'q'.repeat(n)}✓${'r'.repeat(n)}😀`));
    }
  });

  it('accented letters, symbols, CJK and astral characters, at every alignment', () => {
    const text = '{"logs":["unicode: üñïçödé ✓ 日本 #58013","𝄞 and 😀 at the end 😀"],"x":"é"}';
    const b = bytes(text);
    const buffer = new Uint8Array(b.length + 8);
    for (let offset = 0; offset < 4; offset++) {
      const view = buffer.subarray(offset, offset + b.length);
      view.set(b);
      same(view);
      expect(decoded(view)?.text).toBe(text);
    }
  });

  it('every malformed sequence the WHATWG decoder refuses is refused', () => {
    const cases = [
      [0x80],
      [0xbf],
      [0xc0, 0xaf],
      [0xc1, 0xbf],
      [0xc3],
      [0xc3, 0x28],
      [0xe0, 0x80, 0xaf],
      [0xe0, 0x9f, 0xbf],
      [0xed, 0xa0, 0x80],
      [0xed, 0xbf, 0xbf],
      [0xe2, 0x82],
      [0xf0, 0x8f, 0xbf, 0xbf],
      [0xf4, 0x90, 0x80, 0x80],
      [0xf5, 0x80, 0x80, 0x80],
      [0xff],
      [0xf0, 0x9f, 0x98],
      [0xe2, 0x82, 0xac, 0xac],
    ];
    for (const seq of cases) {
      for (const [before, after] of [
        ['{"a":"', '"}'],
        ['{"a":"x', ''],
        ['{"a":"é', 'é"}'],
        ['', ''],
      ]) {
        const b = new Uint8Array([...bytes(before!), ...seq, ...bytes(after!)]);
        expect(strict(b)).toBeUndefined();
        expect(decoded(b)).toBeUndefined();
      }
    }
  });

  it('the valid edges of each sequence length', () => {
    for (const cp of [0x80, 0x7ff, 0x800, 0xd7ff, 0xe000, 0xfeff, 0xfffd, 0xffff, 0x10000, 0x10ffff]) {
      const c = String.fromCodePoint(cp);
      same(bytes(`{"a":"${c}${c}x${c}"}`));
      same(bytes(`${c}`));
    }
  });

  it('random bytes, mostly ASCII: the strict text or nothing, offsets right', () => {
    let seed = 0x2f6b1d3;
    const rand = () => {
      seed = (seed * 1103515245 + 12345) >>> 0;
      return seed >>> 8;
    };
    const alphabet = ['a', 'é', '✓', '日', '😀', '"', '\u0080', '\uffff'];
    for (let n = 0; n < 2000; n++) {
      let text = '{"a":"';
      const len = rand() % 40;
      for (let i = 0; i < len; i++) text += alphabet[rand() % alphabet.length];
      const b = bytes(`${text}"}`);
      if (n % 2 === 1) b[6 + (rand() % (b.length - 6))] = rand() & 0xff;
      same(b);
    }
  });

  it('leaves records that are not mostly ASCII to the platform, with bounded work', () => {
    const near = `{"a":"${'日本語'.repeat(400)}😀${'é'.repeat(240)}"}`;
    expect(decoded(bytes(near))?.text).toBe(near);
    expect(decoded(bytes(`{"a":"${'日本語'.repeat(500)}"}`))).toBeUndefined();
    const some = `{"a":"${'é '.repeat(200)}"}`;
    expect(decoded(bytes(some))?.text).toBe(some);
    for (const b of [bytes(`{"a":"${'é '.repeat(1_000_000)}"}`), bytes(`{"a":"${'日本語のログ'.repeat(200_000)}"}`)]) {
      const t = performance.now();
      expect(decoded(b)).toBeUndefined();
      expect(performance.now() - t).toBeLessThan(2_000);
    }
  });
});

describe('hasControlByte: a byte below 0x20 anywhere', () => {
  const byteLoop = (b: Uint8Array) => b.some((x) => x < 0x20);
  // Every byte value at the bound's edges and at the edges of the bits the word test folds.
  const EDGES = [
    0x00, 0x01, 0x0f, 0x10, 0x1f, 0x20, 0x21, 0x3f, 0x40, 0x5f, 0x60, 0x7f, 0x80, 0x9f, 0xa0, 0xdf, 0xe0, 0xff,
  ];

  it('agrees with a byte loop on every word of edge bytes, at every alignment and place (head, words, tail)', () => {
    const backing = new Uint8Array(48);
    const wrong: string[] = [];
    let checked = 0;
    for (const a of EDGES)
      for (const b of EDGES)
        for (const c of EDGES)
          for (const d of EDGES)
            for (const offset of [0, 1, 3, 4]) {
              const view = backing.subarray(offset, offset + 40);
              // The four bytes in the unaligned head, in each of the four words a turn reads, straddling them, in
              // the words after the last whole turn, and in the tail.
              for (const at of [0, 5, 10, 17, 22, 30, 36]) {
                view.fill(0x41);
                view.set([a, b, c, d], at);
                checked++;
                if (hasControlByte(view) !== byteLoop(view)) wrong.push(`${[a, b, c, d]} at ${offset}+${at}`);
              }
            }
    expect(wrong).toEqual([]);
    expect(checked).toBe(EDGES.length ** 4 * 28);
  });

  it('sees one control byte in a long view at any place, and none in text without one', () => {
    const text = new TextEncoder().encode(`{"a":"${'é日 x'.repeat(2000)}"}`);
    expect(hasControlByte(text)).toBe(false);
    for (const at of [0, 1, 2, 3, 4, 4097, text.length - 2, text.length - 1]) {
      for (const c of [0x00, 0x09, 0x0a, 0x1f]) {
        const copy = text.slice();
        copy[at] = c;
        expect(hasControlByte(copy)).toBe(true);
        expect(hasControlByte(copy.subarray(1))).toBe(at > 0);
      }
    }
    expect(hasControlByte(new Uint8Array(0))).toBe(false);
  });
});
