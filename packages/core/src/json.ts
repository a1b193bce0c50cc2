import { ErstError } from './errors.js';

export type JsonPrimitive = string | number | boolean | null;
export type JsonValue = JsonPrimitive | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

/** Records larger than this are refused before parsing; callers may raise it. */
export const DEFAULT_MAX_INPUT_BYTES = 32 * 1024 * 1024;

export interface ParseJsonOptions {
  /** Refuse inputs larger than this many bytes (UTF-8) or UTF-16 units. */
  maxBytes?: number;
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/**
 * Parses JSON under I-JSON (RFC 7493) rules: valid UTF-8, no duplicate object
 * keys, no lone surrogates. `JSON.parse` silently keeps the last of duplicate
 * keys and accepts `"\ud800"`; a signed record must have exactly one meaning,
 * so both are errors here.
 */
export function parseStrictJson(input: string | Uint8Array, options: ParseJsonOptions = {}): JsonValue {
  const maxBytes = options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  let text: string;
  if (typeof input === 'string') {
    if (input.length > maxBytes) throw tooLarge(input.length, maxBytes);
    text = input;
    // A JS string can carry raw lone surrogates that UTF-8 input never can.
    if (!isWellFormed(text)) throw new ErstError('ERR_JSON_LONE_SURROGATE', 'input contains a lone UTF-16 surrogate');
  } else {
    if (input.byteLength > maxBytes) throw tooLarge(input.byteLength, maxBytes);
    try {
      text = utf8.decode(input);
    } catch (cause) {
      throw new ErstError('ERR_INPUT_NOT_UTF8', 'input is not valid UTF-8', { cause });
    }
  }
  if (text.trim() === '') throw new ErstError('ERR_INPUT_EMPTY', 'input is empty');
  if (text.charCodeAt(0) === 0xfeff) {
    throw new ErstError('ERR_JSON_NOT_I_JSON', 'input starts with a byte-order mark, which I-JSON forbids');
  }
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch (cause) {
    throw new ErstError('ERR_JSON_SYNTAX', `input is not valid JSON: ${(cause as Error).message}`, { cause });
  }
  if (typeof value === 'object' && value !== null) {
    checkDuplicateKeys(text);
    // Only an escape can produce a surrogate from valid UTF-8; walk the value only then.
    if (hasSurrogateEscape(text)) assertWellFormed(value, '$');
  }
  return value;
}

/**
 * Whether the text holds a `\uD800`-`\uDFFF` escape. indexOf skips most of a
 * record natively; a regex over the whole text cost about three times more.
 * (An escaped backslash followed by "u" can match too; that only costs a walk.)
 */
function hasSurrogateEscape(text: string): boolean {
  for (let i = text.indexOf('\\u'); i !== -1; i = text.indexOf('\\u', i + 2)) {
    if ((text.charCodeAt(i + 2) | 0x20) !== 0x64 /* d */) continue;
    const n = text.charCodeAt(i + 3) | 0x20;
    if (n === 0x38 || n === 0x39 || (n >= 0x61 && n <= 0x66)) return true; // 8 9 a-f
  }
  return false;
}

function tooLarge(size: number, max: number): ErstError {
  return new ErstError('ERR_INPUT_TOO_LARGE', `input is ${size} bytes, over the limit of ${max}`, {
    details: { size, max },
  });
}

const isWellFormed: (s: string) => boolean =
  typeof (String.prototype as { isWellFormed?: unknown }).isWellFormed === 'function'
    ? (s) => (s as unknown as { isWellFormed(): boolean }).isWellFormed()
    : (s) => !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);

function assertWellFormed(value: JsonValue, path: string): void {
  if (typeof value === 'string') {
    if (!isWellFormed(value)) {
      throw new ErstError('ERR_JSON_LONE_SURROGATE', `lone UTF-16 surrogate in the string at ${path}`, { details: { path } });
    }
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertWellFormed(value[i]!, `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isWellFormed(k)) {
        throw new ErstError('ERR_JSON_LONE_SURROGATE', `lone UTF-16 surrogate in a key of ${path}`, { details: { path } });
      }
      assertWellFormed(v, `${path}.${k}`);
    }
  }
}

/**
 * Finds duplicate keys in text that JSON.parse has already accepted, so the
 * grammar is known to be valid and the scan can be simple. Strings are skipped
 * with indexOf, which keeps large base64 values (most of a record) cheap.
 */
function checkDuplicateKeys(text: string): void {
  // One entry per open container: the keys seen so far, or null for an array.
  const stack: (Set<string> | null)[] = [];
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (expectKey) {
        const raw = text.slice(i + 1, end);
        const key = raw.includes('\\') ? (JSON.parse(text.slice(i, end + 1)) as string) : raw;
        const seen = stack[stack.length - 1]!;
        if (seen.has(key)) {
          throw new ErstError('ERR_JSON_DUPLICATE_KEY', `duplicate object key ${JSON.stringify(key)}`, {
            details: { key, offset: i },
          });
        }
        seen.add(key);
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b /* { */) {
      stack.push(new Set());
      expectKey = true;
    } else if (c === 0x5b /* [ */) {
      stack.push(null);
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    } else if (c === 0x2c /* , */) {
      expectKey = stack[stack.length - 1] != null;
    }
    i++;
  }
}

function isEscaped(text: string, quote: number): boolean {
  let k = quote - 1;
  while (text.charCodeAt(k) === 0x5c /* \ */) k--;
  return (quote - 1 - k) % 2 === 1;
}
