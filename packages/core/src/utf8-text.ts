/**
 * Strict (fatal) UTF-8 decoding of a record's bytes, made fast where the
 * platform's decoder is slow on what records hold: ASCII is turned into
 * characters in JavaScript, and each run of bytes of 0x80 and above is
 * decoded here, checked as the WHATWG decoder checks it. In Chromium's
 * workers, a TextDecoder call on a distinct 17 KB record made a Blink string
 * and cost about 230 us of CPU (140 of them in the kernel, its memory mapped
 * and unmapped), against about 60 us here; the fatal decoder took about 90 us
 * more on a record with a few accented letters (half of the bench archive).
 * Measured again with Chromium 156: a loop of TextDecoder calls alone takes
 * 3-4 us per 17 KB record, yet decoding the page's records with it (fatal,
 * whole record) took the verifiers from 0.15 to 0.27 ms of CPU per record
 * on the bench archive: the cost comes with the string Blink hands V8.
 *
 * Also says where the text's UTF-16 offsets and the bytes' offsets part (the
 * string scan of jcs-string.ts searches the text and copies the bytes).
 */

/** The text of some bytes, and where its offsets and theirs differ. */
export interface DecodedText {
  readonly text: string;
  /**
   * From text offset `runEnds[k]` on (up to the next run's end), byte offset =
   * text offset + `shifts[k]`; before the first, they agree. Empty for ASCII.
   */
  readonly runEnds: readonly number[];
  readonly shifts: readonly number[];
}

/**
 * Runs of high bytes decoded here at most: past that, the record is not
 * "mostly ASCII", and piecing it together would cost far more than the
 * platform's decoder (a hostile 12 MB record of "é " repeated took 10 s).
 */
const MAX_RUNS = 256;
/** High bytes decoded here at most, for the same reason (one long run of CJK text is the platform's to decode). */
const MAX_HIGH_BYTES = 4096;
/** Bytes turned into characters in one call: far below any engine's limit on arguments. */
const CHARS_PER_CALL = 8192;

const NO_WORDS = new Int32Array(0);

/** A view's bytes as the word-at-a-time scans read them: `head` bytes one by one, aligned 32-bit `words`, the rest from `tail`. */
export function alignedWords(bytes: Uint8Array): { head: number; words: Int32Array; tail: number } {
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
  const count = (bytes.length - head) >> 2;
  // No words (a view shorter than its unaligned head): where they would start need not be aligned.
  const words = count > 0 ? new Int32Array(bytes.buffer, bytes.byteOffset + head, count) : NO_WORDS;
  return { head, words, tail: head + count * 4 };
}

/** Whether every byte is below 0x80, read four at a time where the view is aligned. */
export function isAscii(bytes: Uint8Array): boolean {
  const { head, words, tail } = alignedWords(bytes);
  let acc = 0;
  for (let i = 0; i < head; i++) acc |= bytes[i]!;
  for (let i = 0; i < words.length; i++) acc |= words[i]!;
  for (let i = tail; i < bytes.length; i++) acc |= bytes[i]!;
  return (acc & 0x80808080) === 0;
}

/**
 * Whether any byte is below 0x20: a control character, which JSON allows
 * only as whitespace between tokens, never raw inside a string. Four bytes at
 * a time (a byte loop took four times as long over a record; four words a turn, 3.5 us per 18 KB record).
 */
export function hasControlByte(bytes: Uint8Array): boolean {
  const { head, words, tail } = alignedWords(bytes);
  for (let i = 0; i < head; i++) if (bytes[i]! < 0x20) return true;
  // A byte is below 0x20 when its top three bits are clear. x | x << 1 | x << 2 gathers each byte's top three bits
  // into its top bit (the shifts carry nothing into another byte's top bit), and AND-ing that over the words keeps a
  // top bit only where no word had a control byte. Int32 operations only: no overflow, no floating point.
  // Four words a turn into four accumulators: half the loop's overhead, and no turn waits on the one before.
  let a = -1;
  let b = -1;
  let c = -1;
  let d = -1;
  const count = words.length;
  let i = 0;
  for (const whole = count & ~3; i < whole; i += 4) {
    const w = words[i]!;
    const x = words[i + 1]!;
    const y = words[i + 2]!;
    const z = words[i + 3]!;
    a &= w | (w << 1) | (w << 2);
    b &= x | (x << 1) | (x << 2);
    c &= y | (y << 1) | (y << 2);
    d &= z | (z << 1) | (z << 2);
  }
  for (; i < count; i++) {
    const w = words[i]!;
    a &= w | (w << 1) | (w << 2);
  }
  if ((~(a & b & c & d) & 0x80808080) !== 0) return true;
  for (let i = tail; i < bytes.length; i++) if (bytes[i]! < 0x20) return true;
  return false;
}

/** The text of bytes[start..end), all below 0x80: one character per byte. */
export function asciiText(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= CHARS_PER_CALL) {
    return String.fromCharCode.apply(null, bytes.subarray(start, end) as unknown as number[]);
  }
  let out = '';
  for (let i = start; i < end; i += CHARS_PER_CALL) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, Math.min(end, i + CHARS_PER_CALL)) as unknown as number[]);
  }
  return out;
}

/**
 * The UTF-16 units of bytes[start..end), every one of them 0x80 or above, as
 * strict UTF-8 decoding gives them, pushed to `units`; false where that
 * decoding fails: a lead byte with the continuation bytes its range allows
 * (no overlong form, no surrogate, nothing past U+10FFFF), as the WHATWG
 * decoder checks. A sequence is all high bytes, so a valid one never crosses `end`.
 */
function decodeHighRun(bytes: Uint8Array, start: number, end: number, units: number[]): boolean {
  let i = start;
  while (i < end) {
    const c = bytes[i]!;
    if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 >= end) return false;
      const c1 = bytes[i + 1]!;
      if (c1 > 0xbf) return false;
      units.push(((c & 0x1f) << 6) | (c1 & 0x3f));
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (i + 2 >= end) return false;
      const c1 = bytes[i + 1]!;
      const c2 = bytes[i + 2]!;
      if (c1 < (c === 0xe0 ? 0xa0 : 0x80) || c1 > (c === 0xed ? 0x9f : 0xbf) || c2 > 0xbf) return false;
      units.push(((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f));
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (i + 3 >= end) return false;
      const c1 = bytes[i + 1]!;
      const c2 = bytes[i + 2]!;
      const c3 = bytes[i + 3]!;
      if (c1 < (c === 0xf0 ? 0x90 : 0x80) || c1 > (c === 0xf4 ? 0x8f : 0xbf) || c2 > 0xbf || c3 > 0xbf) return false;
      const cp = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      i += 4;
    } else {
      // A continuation byte with no lead, 0xc0, 0xc1 (overlong) or 0xf5 and above.
      return false;
    }
  }
  return true;
}

const NONE: readonly number[] = [];

/**
 * The text strict UTF-8 decoding (fatal, the byte-order mark kept) gives
 * these bytes, or undefined where it fails, or where the bytes hold more
 * than MAX_RUNS runs or MAX_HIGH_BYTES bytes of 0x80 and above (the caller
 * then leaves the decoding to the platform).
 */
export function decodeUtf8Text(bytes: Uint8Array): DecodedText | undefined {
  if (isAscii(bytes)) return { text: asciiText(bytes, 0, bytes.length), runEnds: NONE, shifts: NONE };
  const runEnds: number[] = [];
  const shifts: number[] = [];
  let out = '';
  let done = 0;
  const decoded = eachHighRun(bytes, (start, end, units) => {
    // At most MAX_HIGH_BYTES units: far below any engine's limit on arguments.
    out += asciiText(bytes, done, start) + String.fromCharCode.apply(null, units);
    runEnds.push(out.length);
    shifts.push(end - out.length);
    done = end;
  });
  return decoded ? { text: out + asciiText(bytes, done, bytes.length), runEnds, shifts } : undefined;
}

/**
 * Whether decodeUtf8Text decodes these bytes (strict UTF-8, within its bounds
 * on bytes of 0x80 and above), without making their text: where there is no
 * node:buffer, how a record is found to be UTF-8 before it is scanned as
 * bytes (making a record's text cost a browser's verifier a fifth of its time).
 */
export function isDecodableUtf8(bytes: Uint8Array): boolean {
  return isAscii(bytes) || eachHighRun(bytes, () => {});
}

/**
 * Calls `run` with each run of bytes of 0x80 and above, in order, and its
 * UTF-16 units (reused: read them in the call); false where one fails strict
 * decoding, or past MAX_RUNS runs or MAX_HIGH_BYTES such bytes.
 */
function eachHighRun(bytes: Uint8Array, run: (start: number, end: number, units: number[]) => void): boolean {
  const n = bytes.length;
  const { head, words, tail } = alignedWords(bytes);
  const units: number[] = [];
  let runs = 0;
  let high = 0;
  for (let i = 0; ; ) {
    // To the next byte of 0x80 or above: four at a time across aligned words (a byte loop was most of the check).
    while (i < n && bytes[i]! < 0x80) {
      i++;
      if (i >= head && i < tail && ((i - head) & 3) === 0) {
        let w = (i - head) >> 2;
        while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
        i = head + w * 4;
      }
    }
    if (i >= n) return true;
    let end = i + 1;
    while (end < n && bytes[end]! >= 0x80 && end - i <= MAX_HIGH_BYTES) end++;
    high += end - i;
    if (runs >= MAX_RUNS || high > MAX_HIGH_BYTES) return false;
    runs++;
    units.length = 0;
    if (!decodeHighRun(bytes, i, end, units)) return false;
    run(i, end, units);
    i = end;
  }
}
