import { type FileHandle, realpath, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { notRegularFile, openInputFile } from '@erst/node-io';
import { type Item, kindByName, unknownKind } from '../item.js';
import { readJsonl } from '../jsonl.js';
import { tarItems } from '../tar.js';
import { readDirectory, readRecordFileSync } from './directory.js';
import { unreadable } from './failures.js';
import type { ReadOptions } from './options.js';

/**
 * Checks what can be checked before any work starts: an existing file whose
 * name announces no kind of input is refused at once
 * (`ERR_ARCHIVE_UNKNOWN_KIND`). Paths that do not exist are reported later,
 * by readInputs, as unreadable input alongside the results for the others.
 */
export async function checkInputs(inputs: readonly string[]): Promise<void> {
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch {
      continue;
    }
    if (!isDir && kindByName(input) === undefined) throw unknownKind(input);
  }
}

/**
 * Every record of every input, in a deterministic order, read as streams:
 * directories (`*.json` files, recursively, names sorted), `.json`,
 * `.jsonl`/`.ndjson`, `.tar`, `.tar.gz`/`.tgz`. Only regular files are
 * opened (never a FIFO or device); what cannot be read is an item, never an
 * exception.
 */
export async function* readInputs(inputs: readonly string[], options: ReadOptions): AsyncGenerator<Item> {
  for (let i = 0; i < inputs.length; i++) yield* await openInput(inputs[i]!, i, options);
}

/**
 * One input's items. Returned rather than delegated to (yield*): each layer
 * of async generators an item passes through costs a step per record.
 */
async function openInput(input: string, i: number, options: ReadOptions): Promise<AsyncIterable<Item> | Item[]> {
  let root: string | undefined;
  try {
    const st = await stat(input);
    // FIFOs, devices and sockets are never opened: see notRegularFile.
    if (!st.isDirectory() && !st.isFile()) throw notRegularFile(input);
    if (st.isDirectory()) root = await realpath(input);
  } catch (e) {
    return [unreadable(input, i, e)];
  }
  if (root !== undefined) return readDirectory(input.replace(/\/+$/, '') || '/', root, i, options);
  const stream = { name: input, input: i, maxBytes: options.maxBytes, accept: options.accept };
  switch (kindByName(input)) {
    case 'json':
      return options.accept(input) ? [readRecordFileSync(input, i, options.maxBytes)] : [];
    case 'jsonl':
      return withFile(input, i, (handle) => readJsonl(fileChunks(handle), stream));
    case 'tar':
      return withFile(input, i, (handle) => tarItems(fileChunks(handle), stream, 'tar'));
    case 'tar.gz':
      return withFile(input, i, (handle) => tarItems(gunzipped(handle), stream, 'gzip-compressed tar'));
    default:
      return [unreadable(input, i, unknownKind(input))];
  }
}

const READ_SIZE = 1 << 20;

/** A file's bytes, read into one buffer that is reused for every read (no garbage per read). */
async function* fileChunks(handle: FileHandle): AsyncGenerator<Uint8Array> {
  const buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

/** A file through node:zlib (faster here than DecompressionStream); a read or gzip error ends the stream with it. */
function gunzipped(handle: FileHandle): AsyncIterable<Uint8Array> {
  const file = handle.createReadStream({ highWaterMark: READ_SIZE, autoClose: false });
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  file.on('error', (e) => gunzip.destroy(e));
  // Reading may stop early (a damaged archive): the file stream stops with the decompressor.
  gunzip.on('close', () => file.destroy());
  return file.pipe(gunzip);
}

/**
 * Opens an input first, so that a missing file is one unreadable input
 * rather than an error mid-stream, and closes it however reading ends.
 * A read error part way through (EIO) is unreadable input, and what was read
 * before it still counts (tar readers report their own, as archive damage).
 */
async function* withFile(
  path: string,
  input: number,
  read: (handle: FileHandle) => AsyncIterable<Item>,
): AsyncGenerator<Item> {
  let handle: FileHandle;
  try {
    handle = await openInputFile(path);
  } catch (e) {
    yield unreadable(path, input, e);
    return;
  }
  try {
    yield* read(handle);
  } catch (e) {
    yield unreadable(path, input, e);
  } finally {
    await handle.close().catch(() => {});
  }
}
