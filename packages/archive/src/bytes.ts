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
