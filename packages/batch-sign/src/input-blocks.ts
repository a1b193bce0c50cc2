const NL = 0x0a;

/** Whole lines to sign: `data`'s first `length` bytes. Or a line over the limit, skipped unread: its size. */
export type InputBlock = { readonly data: ArrayBuffer; readonly length: number } | { readonly tooLong: number };

export interface BlockLimits {
  /** Lines per block (blank ones included): a block ends at the newline that reaches either limit. */
  readonly lines: number;
  readonly bytes: number;
  /** A line longer than this is not kept in memory: it becomes a `tooLong` block once its end is found. */
  readonly lineBytes: number;
  /** A buffer of at least `bytes` to fill (one handed back by the threads, or a new one); it grows as blocks need. */
  readonly buffer: (bytes: number) => ArrayBuffer;
  /**
   * For a source that may pause (a pipe): the whole lines of each chunk go
   * as it ends, not held until a block is full, so that a line is signed
   * (and written) as soon as it comes. A file's chunks need not wait.
   */
  readonly eachChunk?: boolean;
}

/**
 * Cuts a byte stream into blocks of whole lines, for threads that split,
 * parse and sign them: this thread only looks for newlines (natively) and
 * copies bytes, never makes an object per line. Line numbers are not kept
 * here: a block's lines follow the previous block's. A last line without a
 * newline ends the last block. The bytes of one line over `lineBytes` are
 * dropped as they come (memory stays bounded), and the line is reported by
 * its size, in its place; a line that turns out over the limit only once it
 * is whole is left to the thread, which reports it the same way.
 */
export async function* inputBlocks(chunks: AsyncIterable<Uint8Array>, limits: BlockLimits): AsyncGenerator<InputBlock> {
  let buf = new Uint8Array(limits.buffer(0));
  /** Bytes in `buf`; the end of its last whole line; whole lines in it. */
  let len = 0;
  let whole = 0;
  let lines = 0;
  /** Bytes of the over-long line being skipped (0: none). */
  let skipping = 0;

  const append = (piece: Uint8Array) => {
    if (len + piece.length > buf.length) {
      const next = new Uint8Array(limits.buffer(Math.max(2 * buf.length, len + piece.length)));
      next.set(buf.subarray(0, len));
      buf = next;
    }
    buf.set(piece, len);
    len += piece.length;
  };
  /** The whole lines as a block; what follows them (part of a line) starts the next. */
  const take = (): InputBlock => {
    const block = { data: buf.buffer as ArrayBuffer, length: whole };
    const rest = buf.subarray(whole, len);
    buf = new Uint8Array(limits.buffer(rest.length));
    buf.set(rest);
    len = rest.length;
    whole = 0;
    lines = 0;
    return block;
  };

  for await (const c of chunks) {
    const chunk = Buffer.isBuffer(c) ? c : Buffer.from(c.buffer, c.byteOffset, c.byteLength);
    let pos = 0;
    while (pos < chunk.length) {
      if (skipping > 0) {
        const nl = chunk.indexOf(NL, pos);
        if (nl === -1) {
          skipping += chunk.length - pos;
          break;
        }
        yield { tooLong: skipping + nl - pos };
        skipping = 0;
        pos = nl + 1;
        continue;
      }
      // The end of this block in the chunk, if the chunk reaches it.
      let cut = -1;
      let after = pos;
      for (let nl = chunk.indexOf(NL, pos); nl !== -1; nl = chunk.indexOf(NL, after)) {
        after = nl + 1;
        lines++;
        if (lines >= limits.lines || len + after - pos >= limits.bytes) {
          cut = after;
          break;
        }
      }
      const end = cut === -1 ? chunk.length : cut;
      if (after > pos) whole = len + after - pos;
      append(chunk.subarray(pos, end));
      pos = end;
      if (cut !== -1) {
        yield take();
        continue;
      }
      if (len - whole > limits.lineBytes) {
        // The line so far is over the limit: its bytes go, its whole lines before it go to be signed.
        skipping = len - whole;
        len = whole;
        if (whole > 0) yield take();
      }
    }
    if (limits.eachChunk && whole > 0 && skipping === 0) yield take();
  }
  if (skipping > 0) yield { tooLong: skipping };
  else if (len > 0) {
    whole = len;
    yield take();
  }
}
