import { createReadStream, statSync } from 'node:fs';
import type { ReadStream } from 'node:fs';
import { DEFAULT_MAX_INPUT_BYTES } from '@erst/core';
import { type Line, LineSplitter } from '@erst/archive';
import { fileError, openInputFile } from '@erst/node-io';

// Kept apart so that a signing thread loads only @erst/core.
export { LineError, lineDocument } from './line-document.js';

/** Where a batch's payload lines come from: a file opened by `openBatchInput`, or any byte stream (stdin). */
export interface BatchSource {
  /** How messages name the input: its path, or a label such as `<stdin>`. */
  readonly name: string;
  /** The input's bytes, read once. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** How many lines the input holds, for progress; undefined when that cannot be known in advance (a stream). */
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
  let stream: ReadStream | undefined;
  let closed = false;
  const source: BatchSource = {
    name: path,
    get chunks() {
      stream ??= handle.createReadStream({ highWaterMark: 1 << 20 });
      return stream as AsyncIterable<Uint8Array>;
    },
    countLines: () => countLines(path),
    // The stream owns the handle once it exists (autoClose), the handle itself before.
    close: async () => {
      if (closed) return;
      closed = true;
      if (stream) stream.destroy();
      else await handle.close();
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

/** Newlines in a regular file (plus an unterminated last line): a total for progress, nothing more. */
async function countLines(path: string): Promise<number | undefined> {
  try {
    if (!statSync(path).isFile()) return undefined;
    let n = 0;
    let last = 0x0a;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++;
      last = chunk[chunk.length - 1]!;
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
