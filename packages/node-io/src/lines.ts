/** One line of a .jsonl stream: its 1-based number and bytes, or how long it was when over the limit. */
export type Line = { line: number; bytes: Buffer } | { line: number; tooLong: number };

const NL = 0x0a;
const CR = 0x0d;

function isBlank(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/**
 * Splits a byte stream into lines without decoding it, holding at most one
 * line (up to `maxBytes`) in memory: a longer line is skipped and reported,
 * never buffered. Blank lines are not records but keep their numbers.
 * A yielded line may be a view of the chunk passed to push(): use it (or
 * copy it) before passing the next chunk. The caller may reuse its chunk
 * buffer once the generator is done with it.
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #parts: Buffer[] = [];
  #partBytes = 0;
  #skipping = 0;
  #line = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  *push(chunk: Buffer): Generator<Line> {
    let start = 0;
    for (;;) {
      const nl = chunk.indexOf(NL, start);
      if (nl === -1) break;
      const out = this.#finish(chunk.subarray(start, nl));
      if (out) yield out;
      start = nl + 1;
    }
    if (start < chunk.length) this.#append(chunk.subarray(start));
  }

  /** The last line, when the stream does not end with a newline. */
  *end(): Generator<Line> {
    if (this.#partBytes > 0 || this.#skipping > 0) {
      const out = this.#finish(Buffer.alloc(0));
      if (out) yield out;
    }
  }

  #append(piece: Buffer): void {
    if (this.#skipping > 0 || this.#partBytes + piece.length > this.#maxBytes) {
      this.#skipping = (this.#skipping || this.#partBytes) + piece.length;
      this.#parts = [];
      this.#partBytes = 0;
      return;
    }
    // Copied: the caller may reuse the buffer it passed in once push() returns.
    this.#parts.push(Buffer.from(piece));
    this.#partBytes += piece.length;
  }

  #finish(tail: Buffer): Line | undefined {
    this.#line++;
    if (this.#skipping > 0 || this.#partBytes + tail.length > this.#maxBytes) {
      const size = (this.#skipping || this.#partBytes) + tail.length;
      this.#skipping = 0;
      this.#parts = [];
      this.#partBytes = 0;
      return { line: this.#line, tooLong: size };
    }
    let bytes = this.#parts.length === 0 ? tail : Buffer.concat([...this.#parts, tail]);
    this.#parts = [];
    this.#partBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (isBlank(bytes)) return undefined;
    return { line: this.#line, bytes };
  }
}
