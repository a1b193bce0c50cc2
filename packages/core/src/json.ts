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
 * Deepest nesting of arrays and objects accepted. Canonicalizing and checking
 * a value recurse once per level; a limit far above any record keeps a
 * hostile file from exhausting the stack (or, before that, memory: V8 parses
 * 16 million nested arrays into 1.6 GB).
 */
export const MAX_JSON_DEPTH = 512;

/**
 * Parses JSON under I-JSON (RFC 7493) rules: valid UTF-8, no duplicate object
 * keys, no lone surrogates, no number that a double cannot hold exactly, and
 * at most MAX_JSON_DEPTH levels. `JSON.parse` silently keeps the last of
 * duplicate keys, rounds `9007199254740993` to `9007199254740992` and accepts
 * `"\ud800"`; a signed record must have exactly one meaning, so all of these
 * are errors here. Syntax errors name a line and column, never the input text.
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
  // Runs before JSON.parse so that depth is refused before anything is built;
  // what else it finds waits until the grammar is known to be valid, so a
  // syntax error is reported as one.
  const problem = scanJson(text);
  let value: JsonValue;
  try {
    value = JSON.parse(text) as JsonValue;
  } catch {
    // V8's message quotes a piece of the input (Node 20) or only an offset: neither is for output.
    throw syntaxError(text);
  }
  if (problem) throw problem;
  // Only an escape can produce a surrogate from valid UTF-8; walk the value only then.
  if (typeof value === 'object' && value !== null && hasSurrogateEscape(text)) assertWellFormed(value, '$');
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
      throw new ErstError('ERR_JSON_LONE_SURROGATE', `lone UTF-16 surrogate in the string at ${path}`, {
        details: { path },
      });
    }
  } else if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) assertWellFormed(value[i]!, `${path}[${i}]`);
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (!isWellFormed(k)) {
        throw new ErstError('ERR_JSON_LONE_SURROGATE', `lone UTF-16 surrogate in a key of ${path}`, {
          details: { path },
        });
      }
      assertWellFormed(v, path + keySegment(k));
    }
  }
}

/**
 * One pass over the text outside strings (strings are skipped with indexOf,
 * which keeps large base64 values, most of a record, cheap). Throws at once
 * when nesting passes MAX_JSON_DEPTH; returns the first duplicate key or
 * inexact number, for the caller to throw once JSON.parse has accepted the
 * grammar. Until then the text may be anything, so nothing here may assume
 * it is well formed.
 */
function scanJson(text: string): ErstError | undefined {
  // One entry per open container: the keys seen so far, or null for an array.
  const stack: (Set<string> | null)[] = [];
  let problem: ErstError | undefined;
  let expectKey = false;
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      let end = text.indexOf('"', i + 1);
      while (end !== -1 && isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (end === -1) break;
      if (expectKey) {
        const seen = stack[stack.length - 1];
        if (seen && !problem) {
          const key = decodeKey(text, i, end);
          if (key === undefined) break;
          if (seen.has(key)) problem = duplicateKey(key, i);
          seen.add(key);
        }
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c <= 0x3a /* : */) {
      // Whitespace, ':', ',' and number characters all sort below the brackets.
      if (c === 0x2c /* , */) {
        expectKey = stack[stack.length - 1] != null;
      } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39) /* 0-9 */) {
        // Outside strings only a number holds these characters.
        let j = i + 1;
        let digits = c === 0x2d ? 0 : 1;
        let exponent = false;
        for (; j < n; j++) {
          const d = text.charCodeAt(j);
          if (d >= 0x30 && d <= 0x39) digits++;
          else if ((d | 0x20) === 0x65 /* e E */) exponent = true;
          else if (d !== 0x2e /* . */ && d !== 0x2b /* + */ && d !== 0x2d) break;
        }
        // A decimal of at most 15 digits (DBL_DIG) and no exponent lies in the
        // normal range, and reads back from its double unchanged: exact here.
        if ((exponent || digits > 15) && !problem && !isExactDouble(text.slice(i, j))) problem = inexactNumber(text, i);
        i = j;
        continue;
      }
    } else if (c === 0x7b /* { */ || c === 0x5b /* [ */) {
      if (stack.length === MAX_JSON_DEPTH) {
        throw new ErstError(
          'ERR_JSON_TOO_DEEP',
          `input nests arrays and objects more than ${MAX_JSON_DEPTH} levels deep`,
          {
            details: { max: MAX_JSON_DEPTH, ...lineAndColumn(text, i) },
          },
        );
      }
      stack.push(c === 0x7b ? new Set() : null);
      expectKey = c === 0x7b;
    } else if (c === 0x7d /* } */ || c === 0x5d /* ] */) {
      stack.pop();
    }
    i++;
  }
  return problem;
}

function isEscaped(text: string, quote: number): boolean {
  let k = quote - 1;
  while (text.charCodeAt(k) === 0x5c /* \ */) k--;
  return (quote - 1 - k) % 2 === 1;
}

/** The key spelled by the string literal text[start..end], or undefined if it is not valid JSON. */
function decodeKey(text: string, start: number, end: number): string | undefined {
  const raw = text.slice(start + 1, end);
  if (!raw.includes('\\')) return raw;
  try {
    return JSON.parse(text.slice(start, end + 1)) as string;
  } catch {
    return undefined;
  }
}

function duplicateKey(key: string, offset: number): ErstError {
  return new ErstError('ERR_JSON_DUPLICATE_KEY', `duplicate object key ${JSON.stringify(key)}`, {
    details: { key, offset },
  });
}

/**
 * Whether a JSON number literal denotes exactly the double it parses to, so
 * that its JCS form (the shortest text of that double) means the same number.
 * `1.0`, `1e2`, `-0` and `0.1` do (0.1 is the double nearest 0.1, and JCS
 * writes it back as `0.1`); `9007199254740993` and `1.0000000000000001`
 * round to a neighbour, and `1e400` to Infinity.
 */
function isExactDouble(literal: string): boolean {
  const jcs = String(Number(literal));
  // Serializers that write shortest forms (JSON.stringify, Go) give the JCS text itself.
  return jcs === literal || decimalKey(literal) === decimalKey(jcs);
}

/**
 * A decimal string reduced to sign, significant digits and exponent, so two
 * spellings of one value compare equal ("1.50e1" and "15" give "15e0"; every
 * zero gives "0"). Anything that is not a decimal ("Infinity") gives a key no
 * decimal can have.
 */
function decimalKey(s: string): string {
  const neg = s.charCodeAt(0) === 0x2d;
  let e = s.length;
  for (let k = 0; k < s.length; k++) {
    if ((s.charCodeAt(k) | 0x20) === 0x65) {
      e = k;
      break;
    }
  }
  const mantissa = s.slice(neg ? 1 : 0, e);
  let exponent = e < s.length ? Number(s.slice(e + 1)) : 0;
  const dot = mantissa.indexOf('.');
  const digits = dot === -1 ? mantissa : mantissa.slice(0, dot) + mantissa.slice(dot + 1);
  if (dot !== -1) exponent -= mantissa.length - dot - 1;
  let first = 0;
  while (first < digits.length && digits.charCodeAt(first) === 0x30) first++;
  let last = digits.length;
  while (last > first && digits.charCodeAt(last - 1) === 0x30) last--;
  if (first === last) return '0';
  exponent += digits.length - last;
  return `${neg ? '-' : ''}${digits.slice(first, last)}e${exponent}`;
}

function inexactNumber(text: string, offset: number): ErstError {
  const path = pathAt(text, offset);
  return new ErstError(
    'ERR_JSON_NUMBER_PRECISION',
    `the number at ${path} cannot be represented exactly as a double: it would be read as a different value`,
    { details: { path, ...lineAndColumn(text, offset) } },
  );
}

/**
 * The JSON path (`$.payload.amounts[2]`) of the value starting at `offset`
 * in text that JSON.parse accepted. Only error paths call this.
 */
function pathAt(text: string, offset: number): string {
  const frames: { key: string | undefined; index: number }[] = [];
  let expectKey = false;
  let i = 0;
  while (i < offset) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      let end = text.indexOf('"', i + 1);
      while (isEscaped(text, end)) end = text.indexOf('"', end + 1);
      if (expectKey) {
        frames[frames.length - 1]!.key = decodeKey(text, i, end) ?? '';
        expectKey = false;
      }
      i = end + 1;
      continue;
    }
    if (c === 0x7b) {
      frames.push({ key: '', index: 0 });
      expectKey = true;
    } else if (c === 0x5b) {
      frames.push({ key: undefined, index: 0 });
    } else if (c === 0x7d || c === 0x5d) {
      frames.pop();
    } else if (c === 0x2c) {
      const top = frames[frames.length - 1]!;
      if (top.key === undefined) top.index++;
      else expectKey = true;
    }
    i++;
  }
  return `$${frames.map((f) => (f.key === undefined ? `[${f.index}]` : keySegment(f.key))).join('')}`;
}

/** `.name` for a key that reads as a name, else `["..."]`, so a path names one member unambiguously. */
function keySegment(key: string): string {
  return /^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`;
}

/** 1-based line and column (in characters, not UTF-16 units) of an offset. */
function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let k = text.indexOf('\n'); k !== -1 && k < offset; k = text.indexOf('\n', k + 1)) {
    line++;
    lineStart = k + 1;
  }
  let column = 1;
  for (let k = lineStart; k < offset; k++) {
    const u = text.charCodeAt(k);
    // The second half of a surrogate pair is the same character as the first.
    if (u < 0xdc00 || u > 0xdfff || k === lineStart || (text.charCodeAt(k - 1) & 0xfc00) !== 0xd800) column++;
  }
  return { line, column };
}

function syntaxError(text: string): ErstError {
  const { offset, reason } = locateSyntaxError(text);
  const at = lineAndColumn(text, offset);
  return new ErstError(
    'ERR_JSON_SYNTAX',
    `input is not valid JSON: ${reason} at line ${at.line}, column ${at.column}`,
    {
      details: at,
    },
  );
}

const VALUE = 0;
const FIRST_VALUE = 1; // just after '[': a value or ']'
const KEY = 2;
const FIRST_KEY = 3; // just after '{': a key or '}'
const COLON = 4;
const AFTER_VALUE = 5;

/**
 * Where JSON.parse stopped, found by a plain ECMA-404 recognizer: V8's own
 * messages give an offset only sometimes. Runs only on text JSON.parse
 * refused, and never recurses.
 */
function locateSyntaxError(text: string): { offset: number; reason: string } {
  const objects: boolean[] = []; // per open container: true for an object
  const n = text.length;
  let state = VALUE;
  let i = 0;
  for (;;) {
    while (i < n && isJsonSpace(text.charCodeAt(i))) i++;
    if (i >= n) return { offset: n, reason: 'unexpected end of input' };
    const c = text.charCodeAt(i);
    const inObject = objects[objects.length - 1];
    if (state === AFTER_VALUE) {
      if (inObject === undefined) return { offset: i, reason: 'unexpected text after the value' };
      if (c === 0x2c) {
        state = inObject ? KEY : VALUE;
        i++;
      } else if (c === (inObject ? 0x7d : 0x5d)) {
        objects.pop();
        i++;
      } else {
        return { offset: i, reason: inObject ? "expected ',' or '}'" : "expected ',' or ']'" };
      }
    } else if (state === COLON) {
      if (c !== 0x3a) return { offset: i, reason: "expected ':' after a property name" };
      state = VALUE;
      i++;
    } else if (state === KEY || state === FIRST_KEY) {
      if (c === 0x7d && state === FIRST_KEY) {
        objects.pop();
        state = AFTER_VALUE;
        i++;
      } else if (c === 0x22) {
        const end = skipString(text, i);
        if (end < 0) return stringError(text, ~end);
        state = COLON;
        i = end;
      } else {
        return { offset: i, reason: 'expected a double-quoted property name' };
      }
    } else if (c === 0x5d && state === FIRST_VALUE) {
      objects.pop();
      state = AFTER_VALUE;
      i++;
    } else if (c === 0x7b || c === 0x5b) {
      objects.push(c === 0x7b);
      state = c === 0x7b ? FIRST_KEY : FIRST_VALUE;
      i++;
    } else if (c === 0x22) {
      const end = skipString(text, i);
      if (end < 0) return stringError(text, ~end);
      state = AFTER_VALUE;
      i = end;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const end = skipNumber(text, i);
      if (end < 0) return { offset: ~end, reason: 'malformed number' };
      state = AFTER_VALUE;
      i = end;
    } else {
      const word = text.startsWith('true', i)
        ? 4
        : text.startsWith('false', i)
          ? 5
          : text.startsWith('null', i)
            ? 4
            : 0;
      if (word === 0) return { offset: i, reason: 'unexpected character' };
      state = AFTER_VALUE;
      i += word;
    }
  }
}

function isJsonSpace(c: number): boolean {
  return c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09;
}

/** The offset after the string literal at `start`, or ~offset of the first fault in it. */
function skipString(text: string, start: number): number {
  for (let i = start + 1; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22) return i + 1;
    if (c < 0x20) return ~i;
    if (c === 0x5c) {
      const e = text.charCodeAt(i + 1);
      if (e === 0x75 /* u */) {
        for (let k = i + 2; k < i + 6; k++) if (!/[0-9a-fA-F]/.test(text.charAt(k))) return ~k;
        i += 5;
      } else if (i + 1 < text.length && '"\\/bfnrt'.includes(text.charAt(i + 1))) {
        i++;
      } else {
        return ~(i + 1);
      }
    }
  }
  return ~text.length;
}

function stringError(text: string, offset: number): { offset: number; reason: string } {
  if (offset >= text.length) return { offset, reason: 'unterminated string' };
  return {
    offset,
    reason: text.charCodeAt(offset) < 0x20 ? 'control character in a string' : 'invalid escape in a string',
  };
}

/** The offset after the number literal at `start`, or ~offset of the first fault in it. */
function skipNumber(text: string, start: number): number {
  const digitsFrom = (i: number): number => {
    let j = i;
    while (j < text.length && text.charCodeAt(j) >= 0x30 && text.charCodeAt(j) <= 0x39) j++;
    return j;
  };
  let i = start;
  if (text.charCodeAt(i) === 0x2d) i++;
  if (text.charCodeAt(i) === 0x30) i++;
  else if (digitsFrom(i) === i) return ~i;
  else i = digitsFrom(i);
  if (text.charCodeAt(i) === 0x2e) {
    const j = digitsFrom(i + 1);
    if (j === i + 1) return ~j;
    i = j;
  }
  if ((text.charCodeAt(i) | 0x20) === 0x65) {
    i++;
    if (text.charCodeAt(i) === 0x2b || text.charCodeAt(i) === 0x2d) i++;
    const j = digitsFrom(i);
    if (j === i) return ~j;
    i = j;
  }
  return i;
}
