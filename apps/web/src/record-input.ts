/** Bytes turned into characters in one call: far below any engine's limit on arguments. */
const CHARS_PER_CALL = 8192;

/**
 * One character per byte, each the byte's value: for bytes below 0x80 the
 * very text UTF-8 decoding gives (and offsets agree). Done in JavaScript, not
 * with a Latin-1 TextDecoder: in Chromium's workers that decoder made a
 * Blink string of every record and cost about 230 us of CPU a record (140 of
 * them in the kernel, its memory mapped and unmapped) on the bench archive's
 * 17 KB records, against about 60 us here (measured: the record bytes of
 * 1,500 distinct records, CPU of the worker thread from /proc).
 */
function byteChars(bytes: Uint8Array): string {
  if (bytes.length <= CHARS_PER_CALL) return String.fromCharCode.apply(null, bytes as unknown as number[]);
  let out = '';
  for (let i = 0; i < bytes.length; i += CHARS_PER_CALL) {
    out += String.fromCharCode.apply(null, bytes.subarray(i, i + CHARS_PER_CALL) as unknown as number[]);
  }
  return out;
}

/** Whether every byte is below 0x80, read four at a time where the view is aligned. */
export function isAscii(bytes: Uint8Array): boolean {
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
  const words = (bytes.length - head) >> 2;
  let acc = 0;
  for (let i = 0; i < head; i++) acc |= bytes[i]!;
  if (words > 0) {
    const w = new Uint32Array(bytes.buffer, bytes.byteOffset + head, words);
    for (let i = 0; i < words; i++) acc |= w[i]!;
  }
  for (let i = head + words * 4; i < bytes.length; i++) acc |= bytes[i]!;
  return (acc & 0x80808080) === 0;
}

/** The index of the first byte of 0x80 or above at or after `from`, or `bytes.length`; four at a time where aligned. */
function nextHigh(bytes: Uint8Array, words: Uint32Array, head: number, from: number): number {
  const n = bytes.length;
  let i = from;
  // Byte by byte up to a word boundary of the view's words, then a word at a time.
  while (i < n && (i < head || (i - head) & 3)) {
    if (bytes[i]! >= 0x80) return i;
    i++;
  }
  let w = (i - head) >> 2;
  while (w < words.length && (words[w]! & 0x80808080) === 0) w++;
  for (i = Math.max(i, head + w * 4); i < n; i++) if (bytes[i]! >= 0x80) return i;
  return n;
}

/**
 * Runs of high bytes decoded here at most: past that, the record is not
 * "mostly ASCII", and piecing it together would cost far more than the
 * platform's decoder (a hostile 12 MB record of "é " repeated took 10 s in Node).
 */
const MAX_RUNS = 256;
/** High bytes decoded here at most, for the same reason (one long run of CJK text is the platform's to decode). */
const MAX_HIGH_BYTES = 4096;

/**
 * The text of bytes[start..end), every one of them 0x80 or above, as strict
 * (fatal) UTF-8 decoding gives it, or undefined where that decoding fails:
 * a lead byte with the continuation bytes its range allows (no overlong
 * form, no surrogate, nothing past U+10FFFF), as the WHATWG decoder checks.
 * A sequence is all high bytes, so a valid one never crosses `end`.
 */
function decodeHighRun(bytes: Uint8Array, start: number, end: number): string | undefined {
  const units: number[] = [];
  let i = start;
  while (i < end) {
    const c = bytes[i]!;
    if (c >= 0xc2 && c <= 0xdf) {
      if (i + 1 >= end) return undefined;
      const c1 = bytes[i + 1]!;
      if (c1 > 0xbf) return undefined;
      units.push(((c & 0x1f) << 6) | (c1 & 0x3f));
      i += 2;
    } else if (c >= 0xe0 && c <= 0xef) {
      if (i + 2 >= end) return undefined;
      const c1 = bytes[i + 1]!;
      const c2 = bytes[i + 2]!;
      if (c1 < (c === 0xe0 ? 0xa0 : 0x80) || c1 > (c === 0xed ? 0x9f : 0xbf) || c2 > 0xbf) return undefined;
      units.push(((c & 0x0f) << 12) | ((c1 & 0x3f) << 6) | (c2 & 0x3f));
      i += 3;
    } else if (c >= 0xf0 && c <= 0xf4) {
      if (i + 3 >= end) return undefined;
      const c1 = bytes[i + 1]!;
      const c2 = bytes[i + 2]!;
      const c3 = bytes[i + 3]!;
      if (c1 < (c === 0xf0 ? 0x90 : 0x80) || c1 > (c === 0xf4 ? 0x8f : 0xbf) || c2 > 0xbf || c3 > 0xbf) {
        return undefined;
      }
      const cp = (((c & 0x07) << 18) | ((c1 & 0x3f) << 12) | ((c2 & 0x3f) << 6) | (c3 & 0x3f)) - 0x10000;
      units.push(0xd800 + (cp >> 10), 0xdc00 + (cp & 0x3ff));
      i += 4;
    } else {
      // A continuation byte with no lead, 0xc0, 0xc1 (overlong) or 0xf5 and above.
      return undefined;
    }
  }
  // At most MAX_HIGH_BYTES units: far below any engine's limit on arguments.
  return String.fromCharCode(...units);
}

/**
 * Strict UTF-8 decoding of a record that is mostly ASCII: the whole record
 * as one character per byte (so offsets agree),
 * then each run of high bytes decoded here and put in its place. Undefined
 * where strict decoding would fail, or past MAX_RUNS runs or MAX_HIGH_BYTES
 * high bytes (the caller then leaves the decoding to the platform).
 */
function decodeMostlyAscii(bytes: Uint8Array): string | undefined {
  // Only its ASCII runs are kept: a high byte's character is replaced by the run decoded here.
  const text = byteChars(bytes);
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3);
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + head, (bytes.length - head) >> 2);
  let out = '';
  let done = 0;
  let runs = 0;
  let high = 0;
  for (let i = nextHigh(bytes, words, head, 0); i < bytes.length; i = nextHigh(bytes, words, head, done)) {
    let end = i + 1;
    while (end < bytes.length && bytes[end]! >= 0x80 && end - i <= MAX_HIGH_BYTES) end++;
    high += end - i;
    if (++runs > MAX_RUNS || high > MAX_HIGH_BYTES) return undefined;
    const run = decodeHighRun(bytes, i, end);
    if (run === undefined) return undefined;
    out += text.slice(done, i) + run;
    done = end;
  }
  return out + text.slice(done);
}

/**
 * What the verifier is given for a record: its text, as strict UTF-8
 * decoding gives it, or its bytes where the verifier must judge them.
 * Chromium's UTF-8 decoder with `fatal` took 80 to 300 us on a 17 KB ASCII
 * record; checking for ASCII and taking each byte as a character gives the
 * very same string (see byteChars for why not a Latin-1 TextDecoder). On a
 * record with a few accented letters (half of the bench archive) the fatal
 * decoder took about 90 us of CPU against 27 us for one pass plus the high
 * bytes decoded here.
 *
 * Bytes go to the verifier, which decodes (and refuses) them as ever, when
 * they are not valid UTF-8, when they hold more than MAX_HIGH_BYTES high
 * bytes or MAX_RUNS runs of them (then the platform's decoder is the
 * faster), when they start with a high byte (a byte-order
 * mark: its ERR_JSON_NOT_I_JSON), or when they are over `maxBytes` (the
 * limit counts bytes, and the text of them is shorter).
 */
export function recordInput(bytes: Uint8Array, maxBytes = Number.POSITIVE_INFINITY): string | Uint8Array {
  if (isAscii(bytes)) return byteChars(bytes);
  if (bytes[0]! >= 0x80 || bytes.length > maxBytes) return bytes;
  return decodeMostlyAscii(bytes) ?? bytes;
}
