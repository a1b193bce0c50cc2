import type { FileHandle } from 'node:fs/promises';
import { DEFAULT_MAX_INPUT_BYTES } from '@erst/core';
import { type Line, LineSplitter } from '@erst/archive';
import { fileError, openInputFile } from '@erst/node-io';

// Kept apart so that a signing thread loads only @erst/core.
export { LineError, lineDocument } from './line-document.js';

/** Where a batch's payload lines come from: a file opened by `openBatchInput`, or any byte stream (stdin). */
export interface BatchSource {
  /** How messages name the input: its path, or a label such as `<stdin>`. */
  readonly name: string;
  /**
   * The input's bytes, read once. A file's chunk is valid until the next one
   * is asked for (its buffer is then filled again): keep a copy of what must outlive it.
   */
  readonly chunks: AsyncIterable<Uint8Array>;
  /**
   * How many lines the input holds, for progress; undefined when that cannot be known in advance (a stream), or
   * once the source is closed.
   */
  countLines(): Promise<number | undefined>;
  /** Stops reading and releases the file (idempotent); never closes a stream the caller passed in. */
  close(): Promise<void>;
}

/**
 * Opens a batch's input file. Only a regular file is opened (no FIFO, whose
 * open would block, and a signal with it; no device, no directory), so open
 * it before anything slow, such as a token, is set up.
 *
 * @throws ErstError `ERR_FILE_NOT_FOUND`, `ERR_FILE_IS_DIRECTORY`, `ERR_FILE_NOT_REGULAR`, `ERR_FILE_UNREADABLE`.
 * @example
 * const input = await openBatchInput('payloads.jsonl');
 */
export async function openBatchInput(path: string): Promise<BatchSource> {
  const handle = await openInputFile(path);
  let size: number;
  try {
    size = (await handle.stat()).size;
  } catch (cause) {
    await handle.close();
    throw fileError(path, cause);
  }
  let chunks: AsyncIterable<Uint8Array> | undefined;
  let closed = false;
  const source: BatchSource = {
    name: path,
    get chunks() {
      chunks ??= fileChunks(handle, () => closed);
      return chunks;
    },
    countLines: () => countLines(handle, () => closed),
    // Waits for a read in flight (FileHandle.close does), then releases the file.
    close: async () => {
      if (closed) return;
      closed = true;
      await handle.close();
    },
  };
  fileSizes.set(source, size);
  return source;
}

/** The size of each file `openBatchInput` opened, when it was opened. */
const fileSizes = new WeakMap<BatchSource, number>();

/** The bytes of a file source (as it was opened); undefined for a stream, whose length cannot be known in advance. */
export function sourceSize(source: BatchSource): number | undefined {
  return fileSizes.get(source);
}

/** A batch read from a stream the caller owns (stdin, a socket, a generator): never counted, never closed here. */
export function streamBatchInput(chunks: AsyncIterable<Uint8Array>, name = '<stream>'): BatchSource {
  return { name, chunks, countLines: async () => undefined, close: async () => {} };
}

/** Bytes per read of an input file. */
const CHUNK_BYTES = 1 << 20;

/**
 * A file's bytes from its start, in chunks read into two buffers that take
 * turns: the next chunk is read while the caller works on this one, and no
 * chunk costs fresh memory (a stream's new buffer per read cost a page fault
 * per 4 KiB: some 0.1 s of CPU per 350 MB read).
 */
async function* fileChunks(handle: FileHandle, closed: () => boolean): AsyncGenerator<Uint8Array> {
  if (closed()) return;
  const buffers = [Buffer.allocUnsafeSlow(CHUNK_BYTES), Buffer.allocUnsafeSlow(CHUNK_BYTES)];
  let position = 0;
  let turn = 0;
  let next: Promise<{ bytesRead: number }> | undefined = handle.read(buffers[0]!, 0, CHUNK_BYTES, 0);
  try {
    for (;;) {
      const { bytesRead } = await next;
      next = undefined;
      if (bytesRead === 0 || closed()) return;
      position += bytesRead;
      const chunk = buffers[turn]!.subarray(0, bytesRead);
      turn ^= 1;
      // The other buffer's chunk was handed out before this one: the caller is done with it.
      next = handle.read(buffers[turn]!, 0, CHUNK_BYTES, position);
      yield chunk;
    }
  } finally {
    // A read still in flight when the caller stops (its failure says nothing the caller needs).
    await next?.catch(() => {});
  }
}

/**
 * Newlines in the opened file (plus an unterminated last line): a total for
 * progress, nothing more. Read with positional reads on the handle the batch
 * reads, not by opening the path again: that is the regular file
 * openInputFile checked, whatever is at the path by now (a FIFO swapped in
 * there would block a second open for good). Undefined once the source is
 * closed.
 */
async function countLines(handle: FileHandle, closed: () => boolean): Promise<number | undefined> {
  try {
    // One buffer, read into again and again: counting never needs two chunks at once.
    const buffer = Buffer.allocUnsafeSlow(CHUNK_BYTES);
    let n = 0;
    let last = 0x0a;
    for (let position = 0; ; ) {
      if (closed()) return undefined;
      const { bytesRead } = await handle.read(buffer, 0, CHUNK_BYTES, position);
      if (bytesRead === 0) break;
      position += bytesRead;
      const chunk = buffer.subarray(0, bytesRead);
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++;
      last = chunk[bytesRead - 1]!;
    }
    return last === 0x0a ? n : n + 1;
  } catch {
    return undefined;
  }
}

/** The lines of a source, as @erst/archive's splitter cuts them (the same rules as a .jsonl archive): over-long lines are reported, never buffered. */
export async function* readLines(source: BatchSource, stopped: () => boolean): AsyncGenerator<Line> {
  const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
  for await (const chunk of source.chunks) {
    const buf = Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    for (const l of splitter.push(buf)) {
      if (stopped()) return;
      yield l;
    }
  }
  if (!stopped()) yield* splitter.end();
}
