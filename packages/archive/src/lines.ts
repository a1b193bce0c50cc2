/** One line of a .jsonl stream: its 1-based number and bytes, or how long it was when over the limit. */
export type Line = { line: number; bytes: Uint8Array } | { line: number; tooLong: number };

const NL = 0x0a;
const CR = 0x0d;
const EMPTY = new Uint8Array(0);

function isBlank(b: Uint8Array): boolean {
  for (let i = 0; i < b.length; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

function concat(parts: readonly Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Splits a byte stream into lines without decoding it, holding at most one
 * line (up to `maxBytes`) in memory: a longer line is skipped and reported,
 * never buffered. Blank lines are not records but keep their numbers.
 *
 * Plain Uint8Array, no Buffer, so it runs in browsers too; the one splitter
 * of the repository (archives, batch-sign input and resume, state files).
 * A yielded line may be a view
 * of the chunk passed to push(): use it (or copy it) before the next push().
 */
export class LineSplitter {
  readonly #maxBytes: number;
  #parts: Uint8Array[] = [];
  #partBytes = 0;
  #skipping = 0;
  #line = 0;

  constructor(maxBytes: number) {
    this.#maxBytes = maxBytes;
  }

  *push(chunk: Uint8Array): Generator<Line> {
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
      const out = this.#finish(EMPTY);
      if (out) yield out;
    }
  }

  #append(piece: Uint8Array): void {
    if (this.#skipping > 0 || this.#partBytes + piece.length > this.#maxBytes) {
      this.#skipping = (this.#skipping || this.#partBytes) + piece.length;
      this.#parts = [];
      this.#partBytes = 0;
      return;
    }
    // Copied (a Buffer's slice() would be a view): the producer may reuse the chunk once push() returns.
    this.#parts.push(new Uint8Array(piece));
    this.#partBytes += piece.length;
  }

  #finish(tail: Uint8Array): Line | undefined {
    this.#line++;
    if (this.#skipping > 0 || this.#partBytes + tail.length > this.#maxBytes) {
      const size = (this.#skipping || this.#partBytes) + tail.length;
      this.#skipping = 0;
      this.#parts = [];
      this.#partBytes = 0;
      return { line: this.#line, tooLong: size };
    }
    let bytes = this.#parts.length === 0 ? tail : concat([...this.#parts, tail], this.#partBytes + tail.length);
    this.#parts = [];
    this.#partBytes = 0;
    if (bytes.length > 0 && bytes[bytes.length - 1] === CR) bytes = bytes.subarray(0, bytes.length - 1);
    if (isBlank(bytes)) return undefined;
    return { line: this.#line, bytes };
  }
}
