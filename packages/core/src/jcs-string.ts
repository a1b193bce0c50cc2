import type { ScannedObject } from './jcs-text.js';
import { BACKSLASH, FAIL, QUOTE, WS_CR, WS_LF, WS_SPACE, WS_TAB, reorderMembers, sortedOrder } from './jcs-scan.js';
import { MAX_JSON_DEPTH } from './json.js';
import type { DecodedText } from './utf8-text.js';

/**
 * jcs-text.ts's scanCanonical where there is no node:buffer (browsers): the
 * same scan, with the same rules and the same answers, reading the JSON text
 * as a string, whose indexOf every engine runs natively (Chromium:
 * Uint8Array.prototype.indexOf took ten times as long over a record), and
 * copying the canonical bytes from the text's UTF-8 bytes. See jcs-text.ts
 * for what the scan takes and leaves to the general path; its result goes to
 * the same assembleCanonical.
 *
 * The text is a string, so its offsets count UTF-16 units; where characters
 * above ASCII make them differ from the bytes' offsets, `DecodedText` says by
 * how much. Such characters only ever sit inside strings, and everything
 * copied is whole tokens, so every offset copied from is a token's edge.
 */

/** Reused by every scan (scans are synchronous): grown, never shrunk. */
let scratch = new Uint8Array(64 * 1024);

/** One scan's state: the text, its bytes, where they are copied to, and the forward cursors. */
class TextScan {
  readonly t: string;
  readonly n: number;
  readonly bytes: Uint8Array;
  readonly out: Uint8Array;
  readonly runEnds: readonly number[];
  readonly shifts: readonly number[];
  /** The next run whose end is not yet passed, and the shift before it (offsets only grow: see #byte). */
  run = 0;
  shift = 0;
  w = 0;
  /** A pending copy [ps, pe) of the text (text offsets), merged with the next when they touch. */
  ps = -1;
  pe = -1;
  /** The next quote and backslash at or after the scan position (n when none). */
  nextQuote = -1;
  nextBackslash = -1;
  /** Whether the last string stringEnd read held an escape. */
  escaped = false;

  constructor(decoded: DecodedText, bytes: Uint8Array, out: Uint8Array) {
    this.t = decoded.text;
    this.n = decoded.text.length;
    this.runEnds = decoded.runEnds;
    this.shifts = decoded.shifts;
    this.bytes = bytes;
    this.out = out;
  }

  /** The byte offset of text offset `i`; called with offsets that never decrease (copies are made in text order). */
  byte(i: number): number {
    while (this.run < this.runEnds.length && this.runEnds[this.run]! <= i) this.shift = this.shifts[this.run++]!;
    return i + this.shift;
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
      const a = this.byte(ps);
      const e = this.byte(pe);
      this.out.set(this.bytes.subarray(a, e), this.w);
      this.w += e - a;
    }
    this.ps = this.pe = -1;
  }

  skipWs(i: number): number {
    const t = this.t;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c !== WS_SPACE && c !== WS_LF && c !== WS_CR && c !== WS_TAB) return i;
      i++;
    }
  }

  /** jcs-text.ts's stringEnd: the closing quote; FAIL for an escape JSON.stringify would not write, or no end. */
  stringEnd(start: number): number {
    const t = this.t;
    const n = this.n;
    let p = start + 1;
    this.escaped = false;
    for (;;) {
      if (this.nextQuote < p) {
        this.nextQuote = t.indexOf('"', p);
        if (this.nextQuote < 0) this.nextQuote = n;
      }
      if (this.nextBackslash < p) {
        this.nextBackslash = t.indexOf('\\', p);
        if (this.nextBackslash < 0) this.nextBackslash = n;
      }
      const q = this.nextQuote;
      const e = this.nextBackslash;
      if (q >= n) throw FAIL;
      if (e > q) return q;
      this.escaped = true;
      const x = t.charCodeAt(e + 1);
      if (x === QUOTE || x === BACKSLASH || x === 0x62 || x === 0x66 || x === 0x6e || x === 0x72 || x === 0x74) {
        p = e + 2; // " \ b f n r t
      } else if (x === 0x75 /* u */) {
        // \u00XX (lowercase hex) for a control character without a short form; anything else is another spelling.
        if (t.charCodeAt(e + 2) !== 0x30 || t.charCodeAt(e + 3) !== 0x30) throw FAIL;
        const hi = t.charCodeAt(e + 4);
        const lo = t.charCodeAt(e + 5);
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

  /** The key spelled by the string at [start, end] (quotes included): the text is decoded already. */
  key(start: number, end: number): string {
    if (!this.escaped) return this.t.slice(start + 1, end);
    try {
      return JSON.parse(this.t.slice(start, end + 1)) as string;
    } catch {
      throw FAIL; // a control character in it, say: not JSON, which JSON.parse of the whole reports on the general path
    }
  }

  word(i: number, word: string): number {
    if (!this.t.startsWith(word, i)) throw FAIL;
    this.emit(i, i + word.length);
    return i + word.length;
  }

  /** Scans the value at `i` (no whitespace before it), copying it; returns the index after it. */
  value(i: number, depth: number): number {
    const t = this.t;
    const c = t.charCodeAt(i);
    if (c === QUOTE) {
      const end = this.stringEnd(i);
      this.emit(i, end + 1);
      return end + 1;
    }
    if (c === 0x7b /* { */) return this.object(i, depth + 1, undefined);
    if (c === 0x5b /* [ */) return this.array(i, depth + 1);
    if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = i + 1;
      for (;;) {
        const d = t.charCodeAt(j);
        if ((d >= 0x30 && d <= 0x39) || d === 0x2e || d === 0x2b || d === 0x2d || d === 0x65 || d === 0x45) j++;
        else break;
      }
      // Canonical (and so exact: it is the double's own shortest text) only if it reads back unchanged.
      const literal = t.slice(i, j);
      if (String(Number(literal)) !== literal) throw FAIL;
      this.emit(i, j);
      return j;
    }
    if (c === 0x74) return this.word(i, 'true');
    if (c === 0x66) return this.word(i, 'false');
    if (c === 0x6e) return this.word(i, 'null');
    throw FAIL;
  }

  array(i: number, depth: number): number {
    if (depth > MAX_JSON_DEPTH) throw FAIL;
    const t = this.t;
    this.emit(i, i + 1);
    i = this.skipWs(i + 1);
    if (t.charCodeAt(i) === 0x5d /* ] */) {
      this.emit(i, i + 1);
      return i + 1;
    }
    for (;;) {
      i = this.skipWs(this.value(i, depth));
      const c = t.charCodeAt(i);
      this.emit(i, i + 1);
      if (c === 0x5d) return i + 1;
      if (c !== 0x2c /* , */) throw FAIL;
      i = this.skipWs(i + 1);
    }
  }

  /** jcs-text.ts's object: copied in canonical member order, except `top`'s members (left for assembleCanonical). */
  object(i: number, depth: number, top: { keys: string[]; starts: number[]; ends: number[] } | undefined): number {
    if (depth > MAX_JSON_DEPTH) throw FAIL;
    const t = this.t;
    if (!top) this.emit(i, i + 1);
    i = this.skipWs(i + 1);
    if (t.charCodeAt(i) === 0x7d /* } */) {
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
      if (t.charCodeAt(i) !== QUOTE) throw FAIL;
      const keyEnd = this.stringEnd(i);
      const key = this.key(i, keyEnd);
      // Strictly ascending keys are sorted and distinct; anything else is sorted below (and a repeat refused).
      if (keys.length > 0 && !(keys[keys.length - 1]! < key)) sorted = false;
      this.flush();
      starts.push(this.w);
      this.emit(i, keyEnd + 1);
      i = this.skipWs(keyEnd + 1);
      if (t.charCodeAt(i) !== 0x3a /* : */) throw FAIL;
      this.emit(i, i + 1);
      i = this.skipWs(this.value(this.skipWs(i + 1), depth));
      this.flush();
      ends.push(this.w);
      keys.push(key);
      const c = t.charCodeAt(i);
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
 * scanCanonical of `bytes`, read off their strict UTF-8 text (`decoded`,
 * from decodeUtf8Text): the members' canonical bytes, for
 * assembleCanonical, or undefined when the text is not one this fast path
 * handles. Needs nothing but the language: runs in every browser.
 */
export function scanCanonicalText(decoded: DecodedText, bytes: Uint8Array): ScannedObject | undefined {
  // The scan writes at most the input again, then assembleCanonical at most that much after it.
  const need = bytes.length * 2 + 2;
  if (scratch.length < need) scratch = new Uint8Array(Math.max(need, scratch.length * 2));
  const scan = new TextScan(decoded, bytes, scratch);
  const top = { keys: [] as string[], starts: [] as number[], ends: [] as number[] };
  let order: number[];
  try {
    let i = scan.skipWs(0);
    if (decoded.text.charCodeAt(i) !== 0x7b) return undefined;
    i = scan.skipWs(scan.object(i, 1, top));
    if (i !== scan.n) return undefined;
    scan.flush();
    // A repeated top-level key: the general path reports it.
    order = sortedOrder(top.keys);
  } catch (e) {
    if (e === FAIL) return undefined;
    throw e;
  }
  return { bytes: scratch, ...top, order, used: scan.w };
}
