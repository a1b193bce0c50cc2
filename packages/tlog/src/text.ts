import { ErstError, base64ToBytes, bytesToBase64 } from '@erst/core';
import { MAX_LINE_BYTES } from './limits.js';

const decoder = new TextDecoder('utf-8', { fatal: true });
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Bytes or a string as a string whose UTF-8 form is exactly the bytes read:
 * invalid UTF-8 or a lone surrogate cannot be signed or verified byte for byte.
 */
export function textOf(input: string | Uint8Array, code: 'ERR_NOTE_MALFORMED' | 'ERR_TLOG_PROOF_MALFORMED'): string {
  if (typeof input === 'string') {
    if (LONE_SURROGATE.test(input)) throw new ErstError(code, 'text is not valid Unicode (a lone surrogate)');
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

/** Splits text on newlines, refusing any line over MAX_LINE_BYTES (named by its 1-based number). */
export function splitLines(text: string, what: string): string[] {
  const lines = text.split('\n');
  lines.forEach((line, i) => {
    if (line.length > MAX_LINE_BYTES || utf8Length(line) > MAX_LINE_BYTES) {
      throw new ErstError('ERR_TLOG_LINE_TOO_LONG', `${what}: line ${i + 1} is longer than ${MAX_LINE_BYTES} bytes`, {
        details: { line: i + 1, limit: MAX_LINE_BYTES },
      });
    }
  });
  return lines;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/**
 * Standard base64 (RFC 4648 section 4) in its one canonical form: padded, no
 * whitespace, zero pad bits. Two spellings of one hash would let a log or a
 * proof change its bytes without changing what it says.
 */
export function decodeBase64(s: string, what: string, length?: number): Uint8Array {
  const bytes = BASE64.test(s) ? base64ToBytes(s) : undefined;
  if (!bytes || bytesToBase64(bytes) !== s) {
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
