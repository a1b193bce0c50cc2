import { ErstError } from '@erst/core';
import { MAX_LINE_BYTES } from './limits.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const SURROGATE = /[\uD800-\uDFFF]/;

/**
 * Bytes or a string as a string whose UTF-8 form is exactly the bytes read:
 * invalid UTF-8 or a lone surrogate cannot be signed or verified byte for byte.
 */
export function textOf(input: string | Uint8Array, code: 'ERR_NOTE_MALFORMED' | 'ERR_TLOG_PROOF_MALFORMED'): string {
  if (typeof input === 'string') {
    // Most text has no surrogate at all: a plain character class is several times faster than the lookarounds.
    if (SURROGATE.test(input) && LONE_SURROGATE.test(input))
      throw new ErstError(code, 'text is not valid Unicode (a lone surrogate)');
    return input;
  }
  try {
    return decoder.decode(input);
  } catch {
    throw new ErstError(code, 'text is not valid UTF-8');
  }
}

/** UTF-8 length of a string without encoding it. */
export function utf8Length(s: string): number {
  let n = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) n += 1;
    else if (c < 0x800) n += 2;
    else if (c >= 0xd800 && c <= 0xdbff) {
      n += 4;
      i++;
    } else n += 3;
  }
  return n;
}

/**
 * Whether a string's UTF-8 form is longer than `limit` bytes. A UTF-16 unit
 * is at most 3 bytes (a lone high surrogate counted as a pair's 4, at most
 * one more): short strings, every proof and checkpoint line, skip the count.
 */
export function utf8LongerThan(s: string, limit: number): boolean {
  return s.length * 3 >= limit && utf8Length(s) > limit;
}

/** Splits text on newlines, refusing any line over MAX_LINE_BYTES (named by its 1-based number). */
export function splitLines(text: string, what: string): string[] {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.length > MAX_LINE_BYTES || utf8LongerThan(line, MAX_LINE_BYTES)) {
      throw new ErstError('ERR_TLOG_LINE_TOO_LONG', `${what}: line ${i + 1} is longer than ${MAX_LINE_BYTES} bytes`, {
        details: { line: i + 1, limit: MAX_LINE_BYTES },
      });
    }
  });
  return lines;
}

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
/** Character code to its 6-bit value, or 255 for a character outside the standard alphabet. */
const SEXTET = new Uint8Array(128).fill(255);
for (let i = 0; i < ALPHABET.length; i++) SEXTET[ALPHABET.charCodeAt(i)] = i;

/** The 6-bit value of `s[i]`, or 255. */
function sextet(s: string, i: number): number {
  const c = s.charCodeAt(i);
  return c < 128 ? SEXTET[c]! : 255;
}

/**
 * Canonical standard base64 decoded in one pass, or undefined: whole
 * quartets, only the alphabet, `=` padding only at the end, and zero pad
 * bits (each proof line decodes here, so no regular expression or second
 * encoding to compare with).
 */
function decodeCanonical(s: string): Uint8Array | undefined {
  if (s.length % 4 !== 0) return undefined;
  const pad = s.endsWith('==') ? 2 : s.endsWith('=') ? 1 : 0;
  const out = new Uint8Array((s.length / 4) * 3 - pad);
  const full = s.length - (pad > 0 ? 4 : 0);
  let o = 0;
  for (let i = 0; i < full; i += 4) {
    const a = sextet(s, i);
    const b = sextet(s, i + 1);
    const c = sextet(s, i + 2);
    const d = sextet(s, i + 3);
    if ((a | b | c | d) > 63) return undefined;
    out[o++] = (a << 2) | (b >> 4);
    out[o++] = ((b & 15) << 4) | (c >> 2);
    out[o++] = ((c & 3) << 6) | d;
  }
  if (pad === 0) return out;
  const a = sextet(s, full);
  const b = sextet(s, full + 1);
  if ((a | b) > 63) return undefined;
  out[o++] = (a << 2) | (b >> 4);
  if (pad === 2) return b & 15 ? undefined : out;
  const c = sextet(s, full + 2);
  if (c > 63 || c & 3) return undefined;
  out[o] = ((b & 15) << 4) | (c >> 2);
  return out;
}

/**
 * A proof or tile line that is one SHA-256 hash in canonical base64 (43
 * characters of the alphabet, then `=`, zero pad bits), decoded; undefined
 * for any other line (then the caller's own checks say what is wrong with it).
 * The common case in one pass, with no regular expression.
 */
export function decodeHashLine(s: string): Uint8Array | undefined {
  if (s.length !== 44 || s.charCodeAt(43) !== 0x3d) return undefined;
  const bytes = decodeCanonical(s);
  return bytes?.length === 32 ? bytes : undefined;
}

/**
 * Standard base64 (RFC 4648 section 4) in its one canonical form: padded, no
 * whitespace, zero pad bits. Two spellings of one hash would let a log or a
 * proof change its bytes without changing what it says.
 */
export function decodeBase64(s: string, what: string, length?: number): Uint8Array {
  const bytes = decodeCanonical(s);
  if (!bytes) {
    throw new ErstError('ERR_TLOG_BASE64_NONCANONICAL', `${what} is not canonical standard base64`, {
      details: { field: what },
    });
  }
  if (length !== undefined && bytes.length !== length) {
    throw new ErstError('ERR_TLOG_BASE64_NONCANONICAL', `${what} is ${bytes.length} bytes, not ${length}`, {
      details: { field: what, length: bytes.length },
    });
  }
  return bytes;
}

const DECIMAL = /^(?:0|[1-9][0-9]{0,15})$/;

/** A decimal with no leading zeros that is a safe integer, or undefined. */
export function parseDecimal(s: string): number | undefined {
  if (!DECIMAL.test(s)) return undefined;
  const n = Number(s);
  return Number.isSafeInteger(n) ? n : undefined;
}
