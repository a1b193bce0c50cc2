import { base64ToBytes, bytesToBase64, isErstError } from '@erst/core';
import { describe, expect, it } from 'vitest';
import { decodeBase64, textOf, utf8Length, utf8LongerThan } from '../text.js';

// What decodeBase64 accepted before it decoded in one pass: the strict pattern, then a second encoding to compare.
const PATTERN = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;
function reference(s: string): Uint8Array | undefined {
  const bytes = PATTERN.test(s) ? base64ToBytes(s) : undefined;
  return bytes && bytesToBase64(bytes) === s ? bytes : undefined;
}

function decoded(s: string): Uint8Array | string {
  try {
    return decodeBase64(s, 'test');
  } catch (e) {
    if (isErstError(e)) return e.code;
    throw e;
  }
}

describe('decodeBase64 accepts exactly the canonical spellings', () => {
  it('agrees with the pattern-and-re-encode check on every edge and on random strings', () => {
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
    const cases = [
      '',
      '=',
      '==',
      'A===',
      'AA==',
      'AB==',
      'AAA=',
      'AAB=',
      'AAAA',
      'AAAA=',
      'AA=A',
      'A=AA',
      '====',
      'AA==AAAA',
      'AAAA\n',
      ' AAA',
      'AA-_',
      'AAé=',
      'AA\u0100A',
      'AAAAAA',
      'Zm9vYmFy',
      'Zm9vYg==',
      'Zm9vYh==',
    ];
    for (let n = 0; n < 300; n++) {
      const bytes = new Uint8Array(n % 40).map((_, i) => (i * 97 + n * 31) & 0xff);
      const good = bytesToBase64(bytes);
      cases.push(good);
      // Each position changed to each of a few characters: pad bits, padding in the middle, foreign characters.
      for (const at of [0, good.length - 1, good.length - 2, good.length - 3]) {
        if (at < 0) continue;
        for (const c of ['A', 'B', 'P', 'Q', 'g', 'w', '/', '=', '*', '\u00e9']) {
          cases.push(good.slice(0, at) + c + good.slice(at + 1));
        }
      }
      cases.push(`${good}=`, good.slice(0, -1), `${good}AAAA`);
    }
    for (let n = 0; n < 2000; n++) {
      const len = 4 * (n % 6) + (n % 7 === 0 ? 1 : 0);
      let s = '';
      for (let i = 0; i < len; i++) s += i >= len - 2 && n % 3 === 0 ? '=' : alphabet[(n * 7 + i * 13) % 64];
      cases.push(s);
    }
    let accepted = 0;
    for (const s of cases) {
      const want = reference(s);
      const got = decoded(s);
      if (want) {
        expect(got, JSON.stringify(s)).toEqual(want);
        accepted++;
      } else {
        expect(got, JSON.stringify(s)).toBe('ERR_TLOG_BASE64_NONCANONICAL');
      }
    }
    // Both outcomes are exercised many times.
    expect(accepted).toBeGreaterThan(500);
    expect(cases.length - accepted).toBeGreaterThan(500);
  });

  it('a length that is not the one asked for is refused', () => {
    expect(decodeBase64('AAAA', 'x', 3)).toEqual(new Uint8Array(3));
    expect(() => decodeBase64('AAAA', 'x', 32)).toThrow(/3 bytes, not 32/);
  });
});

describe('textOf', () => {
  it('refuses a lone surrogate anywhere, and keeps pairs', () => {
    for (const s of ['a\uD800', '\uDC00b', 'x\uD800y\uDC00', '\uDBFF']) {
      expect(() => textOf(s, 'ERR_NOTE_MALFORMED'), JSON.stringify(s)).toThrow(/lone surrogate/);
    }
    for (const s of ['plain', '\uD83D\uDE00 smile', 'é日本']) expect(textOf(s, 'ERR_NOTE_MALFORMED')).toBe(s);
  });
});

describe('utf8LongerThan', () => {
  it('agrees with counting every byte, at and around the limit, for each width of character', () => {
    for (const unit of ['a', '\u00e9', '\u65e5', '\uD83D\uDE00', '\uD800']) {
      for (let n = 0; n < 40; n++) {
        const s = unit.repeat(n) + (n % 3 === 0 ? '\uDBFF' : '');
        for (let limit = Math.max(0, utf8Length(s) - 4); limit <= utf8Length(s) + 4; limit++) {
          expect(utf8LongerThan(s, limit), `${JSON.stringify(s)} ${limit}`).toBe(utf8Length(s) > limit);
        }
      }
    }
  });
});
