import {
  BACKSLASH,
  FAIL,
  QUOTE,
  WS_CR,
  WS_LF,
  WS_SPACE,
  WS_TAB,
  reorderMembers,
  sortedOrder,
  writeMembers,
} from './jcs-scan.js';
import type { JsonObject } from './json.js';
import { MAX_JSON_DEPTH } from './json.js';
import { alignedWords, asciiText, decodeUtf8Text, hasControlByte, isDecodableUtf8 } from './utf8-text.js';

/**
 * RFC 8785 (JCS) bytes read off a JSON text's UTF-8 bytes, without building the parsed
 * value's sorted clone and its canonical string (`canonicalize`): most of
 * what verifying a large record cost beyond the hash itself.
 *
 * JCS writes every string and number exactly as ECMAScript's JSON.stringify
 * does and orders each object's members by key. A text whose strings and
 * numbers are already spelled that way (what every JSON.stringify-based
 * writer, erst's included, produces) differs from its canonical form only in
 * whitespace and member order; so the canonical bytes are the text's own
 * tokens, copied in sorted order. `scanCanonical` does that copy while it
 * checks each token; `assembleCanonical` then orders the top-level members,
 * leaving out the ones a format does not hash.
 *
 * It never decides anything on its own: whenever the text is not plainly of
 * that kind (another spelling of a string or number, `-0`, a lone-surrogate
 * escape, a duplicate key, nesting past MAX_JSON_DEPTH, anything it does not
 * recognize), it returns undefined and the caller takes the general path
 * (`parseStrictJson`, then `canonicalize`), which gives the same bytes or the
 * error. The text must still be valid JSON: callers run JSON.parse on it, and
 * this function only promises to tokenize valid JSON correctly.
 *
 * Work is linear in the text: every search moves forward.
 */

/** The top-level members of a scanned object: key, and where `"key":value` (canonical) sits in `scanned.bytes`. */
export interface ScannedObject {
  /** Scratch space: valid until the next scan. */
  readonly bytes: Uint8Array;
  /** Decoded keys in text order. */
  readonly keys: string[];
  /** starts[i]..ends[i]: member i's canonical bytes. */
  readonly starts: number[];
  readonly ends: number[];
  /** Member indexes in key order. */
  readonly order: readonly number[];
  /** Where the next free byte of `bytes` is (assembleCanonical writes there). */
  readonly used: number;
}

type NodeBuffer = Uint8Array & {
  indexOf(byte: number, from: number): number;
  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number;
  latin1Slice(start: number, end: number): string;
  utf8Slice(start: number, end: number): string;
};
type BufferModule = {
  Buffer: { from(buffer: ArrayBufferLike, offset: number, length: number): NodeBuffer };
  isUtf8(input: ArrayBufferView): boolean;
};
// Node's Buffer searches natively (memchr): Uint8Array.prototype.indexOf took four times as long over a record.
const nodeBuffer = (
  globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }
).process?.getBuiltinModule?.('node:buffer') as BufferModule | undefined;

const utf8Decoder = new TextDecoder();

/**
 * Where there is no node:buffer (browsers): the Buffer methods the scan uses,
 * on a Uint8Array. Slower searches than Buffer's, but the scan never makes
 * the record's text, which cost a browser's verifier more (about a fifth of
 * its time, in Chromium).
 */
class PortableBytes extends Uint8Array {
  #words: Int32Array | undefined;
  #head = 0;
  #tail = 0;

  /**
   * The first index of `byte` at or after `from`, as Uint8Array's: four bytes
   * a turn across aligned words (V8's indexOf reads one at a time, and was
   * most of what the scan cost a browser's verifier).
   */
  override indexOf(byte: number, from = 0): number {
    if (!this.#words) ({ words: this.#words, head: this.#head, tail: this.#tail } = alignedWords(this));
    const words = this.#words;
    const head = this.#head;
    const n = this.length;
    // `byte` in every lane: a word holds it where word ^ pattern has a zero byte (exactly when the classic test is true).
    const pattern = Math.imul(byte & 0xff, 0x01010101);
    for (let i = from < 0 ? Math.max(n + from, 0) : from; i < n; i++) {
      if (i >= head && i < this.#tail && ((i - head) & 3) === 0) {
        let w = (i - head) >> 2;
        for (; w < words.length; w++) {
          const x = words[w]! ^ pattern;
          if (((x - 0x01010101) & ~x & 0x80808080) !== 0) break;
        }
        i = head + w * 4;
        if (i >= n) break;
      }
      if (this[i] === byte) return i;
    }
    return -1;
  }

  copy(target: Uint8Array, targetStart: number, sourceStart: number, sourceEnd: number): number {
    target.set(this.subarray(sourceStart, sourceEnd), targetStart);
    return sourceEnd - sourceStart;
  }

  /** Called by the scan only for bytes below 0x80 (a plain key, a number), where latin1 is ASCII. */
  latin1Slice(start: number, end: number): string {
    return asciiText(this, start, end);
  }

  utf8Slice(start: number, end: number): string {
    return utf8Decoder.decode(this.subarray(start, end));
  }
}

/** Reused by every scan (scans are synchronous): grown, never shrunk. */
let scratch = new Uint8Array(64 * 1024);

const TRUE = [0x74, 0x72, 0x75, 0x65];
const FALSE = [0x66, 0x61, 0x6c, 0x73, 0x65];
const NULL = [0x6e, 0x75, 0x6c, 0x6c];

/** One scan's state: the bytes, where they are copied to, and the forward cursors. */
class Scan {
  readonly b: NodeBuffer;
  readonly n: number;
  readonly out: Uint8Array;
  w = 0;
  /** A pending copy [ps, pe) of the input, merged with the next when they touch. */
  ps = -1;
  pe = -1;
  /** The next quote and backslash at or after the scan position (n when none). */
  nextQuote = -1;
  nextBackslash = -1;
  /** Whether the last string stringEnd read held an escape or a byte above ASCII. */
  escaped = false;

  constructor(b: NodeBuffer, out: Uint8Array) {
    this.b = b;
    this.n = b.length;
    this.out = out;
  }

  emit(a: number, e: number): void {
    if (a === this.pe) {
      this.pe = e;
      return;
    }
    this.flush();
    this.ps = a;
    this.pe = e;
  }

  flush(): void {
    const { ps, pe } = this;
    if (pe > ps) {
      // Buffer.copy, natively: out.set(b.subarray(...)) made a Buffer per copy, a fifth of a record's allocations.
      this.b.copy(this.out, this.w, ps, pe);
      this.w += pe - ps;
    }
    this.ps = this.pe = -1;
  }

  skipWs(i: number): number {
    const b = this.b;
    for (;;) {
      const c = b[i];
      if (c !== WS_SPACE && c !== WS_LF && c !== WS_CR && c !== WS_TAB) return i;
      i++;
    }
  }

  /**
   * The index of the quote closing the string opened at `start`; throws FAIL
   * for an escape JSON.stringify would not write (so the string is not in
   * canonical spelling) or an unterminated string. Sets `escaped` when the
   * string holds an escape.
   */
  stringEnd(start: number): number {
    const b = this.b;
    const n = this.n;
    let p = start + 1;
    this.escaped = false;
    for (;;) {
      if (this.nextQuote < p) {
        this.nextQuote = b.indexOf(QUOTE, p);
        if (this.nextQuote < 0) this.nextQuote = n;
      }
      if (this.nextBackslash < p) {
        this.nextBackslash = b.indexOf(BACKSLASH, p);
        if (this.nextBackslash < 0) this.nextBackslash = n;
      }
      const q = this.nextQuote;
      const e = this.nextBackslash;
      if (q >= n) throw FAIL;
      if (e > q) return q;
      // An escape before the quote: only the spellings JSON.stringify writes.
      this.escaped = true;
      const x = b[e + 1];
      if (x === QUOTE || x === BACKSLASH || x === 0x62 || x === 0x66 || x === 0x6e || x === 0x72 || x === 0x74) {
        p = e + 2; // " \ b f n r t
      } else if (x === 0x75 /* u */) {
        // \u00XX (lowercase hex) for a control character without a short form; anything else is another spelling.
        if (b[e + 2] !== 0x30 || b[e + 3] !== 0x30) throw FAIL;
        const hi = b[e + 4]!;
        const lo = b[e + 5]!;
        const low = lo >= 0x30 && lo <= 0x39 ? lo - 0x30 : lo >= 0x61 && lo <= 0x66 ? lo - 0x57 : -1;
        if ((hi !== 0x30 && hi !== 0x31) || low < 0) throw FAIL;
        const code = (hi - 0x30) * 16 + low;
        if (code === 0x08 || code === 0x09 || code === 0x0a || code === 0x0c || code === 0x0d) throw FAIL;
        p = e + 6;
      } else {
        throw FAIL;
      }
    }
  }

  /** The key spelled by the string at [start, end] (quotes included). */
  key(start: number, end: number): string {
    const b = this.b;
    let plain = !this.escaped;
    for (let k = start + 1; plain && k < end; k++) if (b[k]! >= 0x80) plain = false;
    // Bytes above ASCII: UTF-8 (the caller checked the input is), decoded, so keys compare as UTF-16 units.
    if (plain) return b.latin1Slice(start + 1, end);
    try {
      return JSON.parse(b.utf8Slice(start, end + 1)) as string;
    } catch {
      throw FAIL; // a control character in it, say: not JSON, which JSON.parse of the whole reports on the general path
    }
  }

  word(i: number, word: readonly number[]): number {
    for (let k = 0; k < word.length; k++) if (this.b[i + k] !== word[k]) throw FAIL;
    this.emit(i, i + word.length);
    return i + word.length;
  }

  /** Scans the value at `i` (no whitespace before it), copying it; returns the index after it. */
  value(i: number, depth: number): number {
    const b = this.b;
    const c = b[i];
    if (c === QUOTE) {
      const end = this.stringEnd(i);
      this.emit(i, end + 1);
      return end + 1;
    }
    if (c === 0x7b /* { */) return this.object(i, depth + 1, undefined);
    if (c === 0x5b /* [ */) return this.array(i, depth + 1);
    if (c === 0x2d /* - */ || (c !== undefined && c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      for (;;) {
        const d = b[j];
        if (d === undefined) break;
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d || d === 0x65 || d === 0x45) j++;
        else break;
      }
      // Canonical (and so exact: it is the double's own shortest text) only if it reads back unchanged.
      const literal = b.latin1Slice(i, j);
      if (String(Number(literal)) !== literal) throw FAIL;
      this.emit(i, j);
      return j;
    }
    if (c === 0x74) return this.word(i, TRUE);
    if (c === 0x66) return this.word(i, FALSE);
    if (c === 0x6e) return this.word(i, NULL);
    throw FAIL;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_JSON_DEPTH) throw FAIL;
    const b = this.b;
    this.emit(i, i + 1);
    i = this.skipWs(i + 1);
    if (b[i] === 0x5d /* ] */) {
      this.emit(i, i + 1);
      return i + 1;
    }
    for (;;) {
      i = this.skipWs(this.value(i, depth));
      const c = b[i];
      this.emit(i, i + 1);
      if (c === 0x5d) return i + 1;
      if (c !== 0x2c /* , */) throw FAIL;
      i = this.skipWs(i + 1);
    }
  }

  /**
   * Scans an object, copying it in canonical member order. `top`: the
   * top-level object, whose members are left in input order for
   * `assembleCanonical` (which knows which to leave out); it receives them.
   */
  object(i: number, depth: number, top: { keys: string[]; starts: number[]; ends: number[] } | undefined): number {
    if (depth > MAX_JSON_DEPTH) throw FAIL;
    const b = this.b;
    if (!top) this.emit(i, i + 1);
    i = this.skipWs(i + 1);
    if (b[i] === 0x7d /* } */) {
      if (!top) this.emit(i, i + 1);
      return i + 1;
    }
    this.flush();
    const open = this.w - (top ? 0 : 1);
    const keys: string[] = top?.keys ?? [];
    const starts: number[] = top?.starts ?? [];
    const ends: number[] = top?.ends ?? [];
    let sorted = true;
    for (;;) {
      if (b[i] !== QUOTE) throw FAIL;
      const keyEnd = this.stringEnd(i);
      const key = this.key(i, keyEnd);
      // Strictly ascending keys are sorted and distinct; anything else is sorted below (and a repeat refused).
      if (keys.length > 0 && !(keys[keys.length - 1]! < key)) sorted = false;
      this.flush();
      starts.push(this.w);
      this.emit(i, keyEnd + 1);
      i = this.skipWs(keyEnd + 1);
      if (b[i] !== 0x3a /* : */) throw FAIL;
      this.emit(i, i + 1);
      i = this.skipWs(this.value(this.skipWs(i + 1), depth));
      this.flush();
      ends.push(this.w);
      keys.push(key);
      const c = b[i];
      if (c === 0x7d) {
        if (top) return i + 1;
        this.emit(i, i + 1);
        this.flush();
        if (!sorted) this.reorder(open, keys, starts, ends);
        return i + 1;
      }
      if (c !== 0x2c) throw FAIL;
      if (!top) this.emit(i, i + 1);
      i = this.skipWs(i + 1);
    }
  }

  /** Rewrites the object copied at [open, w) with its members in key order (a repeated key fails). */
  reorder(open: number, keys: string[], starts: number[], ends: number[]): void {
    reorderMembers(this.out, open, this.w, keys, starts, ends);
  }
}

/**
 * Scans the UTF-8 bytes of a JSON text whose top-level value is an object.
 * The caller has checked that they are UTF-8 (keys with other bytes are
 * decoded to be ordered). Returns its members' canonical bytes, or undefined
 * when the text is not one this fast path handles (see above).
 */
export function scanCanonical(bytes: Uint8Array): ScannedObject | undefined {
  return nodeBuffer
    ? scanWith(bytes, nodeBuffer.Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
    : scanCanonicalPortable(bytes);
}

/** scanCanonical as it runs where there is no node:buffer; exported for the tests, which compare the two. */
export function scanCanonicalPortable(bytes: Uint8Array): ScannedObject | undefined {
  return scanWith(bytes, new PortableBytes(bytes.buffer as ArrayBuffer, bytes.byteOffset, bytes.byteLength));
}

function scanWith(bytes: Uint8Array, view: NodeBuffer): ScannedObject | undefined {
  // The scan writes at most the input again, then assembleCanonical at most that much after it.
  const need = bytes.length * 2 + 2;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const scan = new Scan(view, scratch);
  const top = { keys: [] as string[], starts: [] as number[], ends: [] as number[] };
  let order: number[];
  try {
    let i = scan.skipWs(0);
    if (bytes[i] !== 0x7b) return undefined;
    i = scan.skipWs(scan.object(i, 1, top));
    if (i !== bytes.length) return undefined;
    scan.flush();
    // A repeated top-level key: the general path reports it.
    order = sortedOrder(top.keys);
  } catch (e) {
    if (e === FAIL) return undefined;
    throw e;
  }
  return { bytes: scratch, ...top, order, used: scan.w };
}

/**
 * The canonical bytes of the scanned object without the members named in
 * `omit`: a view of scratch space, valid until the next scan.
 */
export function assembleCanonical(scanned: ScannedObject, omit: readonly string[]): Uint8Array {
  const order = scanned.order.filter((k) => !omit.includes(scanned.keys[k]!));
  const end = writeMembers(scanned.bytes, scanned.used, scanned.bytes, 0, order, scanned.starts, scanned.ends);
  return scanned.bytes.subarray(scanned.used, end);
}

/**
 * Whether the scan alone can tell that these bytes are JSON: they are UTF-8
 * (node:buffer's native check; where there is none, isDecodableUtf8, which
 * also says no to text with many bytes above ASCII) and hold no control
 * character. The scan checks all of JSON's grammar but what is inside a
 * string, which it skips whole: there JSON allows any character but a raw
 * control character, and the escapes, which the scan checks. So for these
 * bytes, a text `scanCanonical` accepts is one JSON.parse accepts, and
 * parseStrictJson too (the scan refuses what that refuses beyond JSON.parse).
 * A text with a control character, if only a tab or line break between
 * tokens, is left to JSON.parse.
 */
export function isScannableText(bytes: Uint8Array): boolean {
  return !hasControlByte(bytes) && (nodeBuffer ? nodeBuffer.isUtf8(bytes) : isDecodableUtf8(bytes));
}

/** The text of bytes known to be UTF-8 (isScannableText): a non-strict decoder is the strict one's equal there. */
export function utf8Text(bytes: Uint8Array): string {
  if (nodeBuffer) {
    return nodeBuffer.Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).utf8Slice(0, bytes.byteLength);
  }
  return decodeUtf8Text(bytes)?.text ?? utf8Decoder.decode(bytes);
}

/**
 * The scanned object's top level, parsed, with `stub`'s value replaced by
 * `{}` where that value is an object: every other member as JSON.parse of
 * the whole text gives it (keys in text order, `__proto__` an own member),
 * for a fraction of the work when `stub` holds most of the text (a record's
 * payload). `stub` must be a key JSON.stringify writes without escapes. The
 * scan must have been of bytes isScannableText accepts.
 */
export function scannedHead(scanned: ScannedObject, stub: string): JsonObject {
  const { bytes, keys, starts, ends } = scanned;
  // Written after the scan's output, where assembleCanonical writes next (the text is decoded before it runs).
  let w = scanned.used;
  const from = w;
  bytes[w++] = 0x7b;
  for (let k = 0; k < keys.length; k++) {
    if (k > 0) bytes[w++] = 0x2c;
    // `"stub":` then the value: the key's canonical spelling is its only one (the scan refuses any other).
    const value = starts[k]! + stub.length + 3;
    const stubbed = keys[k] === stub && bytes[value] === 0x7b;
    const end = stubbed ? value : ends[k]!;
    bytes.copyWithin(w, starts[k]!, end);
    w += end - starts[k]!;
    if (stubbed) {
      bytes[w++] = 0x7b;
      bytes[w++] = 0x7d;
    }
  }
  bytes[w++] = 0x7d;
  return JSON.parse(utf8Text(bytes.subarray(from, w))) as JsonObject;
}
