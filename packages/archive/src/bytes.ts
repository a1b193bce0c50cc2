/**
 * Bytes as they arrive: a web `ReadableStream` (`File.stream()`, `fetch`
 * bodies, `DecompressionStream` output) or any async iterable of chunks (a
 * Node stream). A chunk may be a view of a buffer its producer reuses once
 * the next chunk is asked for.
 */
export type ByteSource = AsyncIterable<Uint8Array> | ReadableStream<Uint8Array>;

/** The chunks of a source, through a reader where async iteration of ReadableStream is missing (Safari). */
export function chunksOf(source: ByteSource): AsyncIterable<Uint8Array> {
  if (typeof (source as Partial<AsyncIterable<Uint8Array>>)[Symbol.asyncIterator] === 'function') {
    return source as AsyncIterable<Uint8Array>;
  }
  return readerChunks(source as ReadableStream<Uint8Array>);
}

async function* readerChunks(stream: ReadableStream<Uint8Array>): AsyncGenerator<Uint8Array> {
  const reader = stream.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) return;
      yield value;
    }
  } finally {
    // Stopping early (a damaged archive) cancels the stream, so a file or a decompressor stops working.
    await reader.cancel().catch(() => {});
    reader.releaseLock();
  }
}

/** Thrown when a stream ends part way through a structure that says how long it is. */
export class TruncatedError extends Error {
  constructor() {
    super('unexpected end of data');
  }
}

const EMPTY = new Uint8Array(0);

/**
 * Pulls exact byte counts out of a chunked stream. It holds one chunk of the
 * source, and copies out of it (or hands out views of it) before it asks for
 * the next, so producers may reuse their buffers.
 */
export class ByteReader {
  readonly #chunks: AsyncIterator<Uint8Array>;
  #chunk: Uint8Array = EMPTY;
  #pos = 0;

  constructor(source: ByteSource) {
    this.#chunks = chunksOf(source)[Symbol.asyncIterator]();
  }

  /** Whether bytes remain; waits for a chunk when the one held is used up. */
  async #fill(): Promise<boolean> {
    while (this.#pos >= this.#chunk.length) {
      const next = await this.#chunks.next();
      if (next.done) return false;
      this.#chunk = next.value;
      this.#pos = 0;
    }
    return true;
  }

  /** Exactly `n` bytes, copied: undefined when the stream ends before the first; TruncatedError when it ends after. */
  async exactly(n: number): Promise<Uint8Array | undefined> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      if (!(await this.#fill())) {
        if (off === 0) return undefined;
        throw new TruncatedError();
      }
      const take = Math.min(n - off, this.#chunk.length - this.#pos);
      out.set(this.#chunk.subarray(this.#pos, this.#pos + take), off);
      this.#pos += take;
      off += take;
    }
    return out;
  }

  /** The next `n` bytes as views of the source's chunks, each valid until the next is pulled. */
  async *views(n: number): AsyncGenerator<Uint8Array> {
    let left = n;
    while (left > 0) {
      if (!(await this.#fill())) throw new TruncatedError();
      const take = Math.min(left, this.#chunk.length - this.#pos);
      const view = this.#chunk.subarray(this.#pos, this.#pos + take);
      this.#pos += take;
      left -= take;
      yield view;
    }
  }

  /** Skips `n` bytes. */
  async skip(n: number): Promise<void> {
    for await (const _ of this.views(n)) {
      // Nothing to keep.
    }
  }

  /** Ends reading early: the source is told to stop (its `return`), so files close and decompressors stop. */
  async close(): Promise<void> {
    await this.#chunks.return?.();
  }
}
