import { type Hash, createHash } from 'node:crypto';
import { type FileHandle, realpath, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { createGunzip } from 'node:zlib';
import { INPUT_OPEN_FLAGS, notRegularFile, openInputFile } from '@erst/node-io';
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
      return withFile(input, i, options, (handle, digest) => readJsonl(fileChunks(handle, digest), stream));
    case 'tar':
      return withFile(input, i, options, (handle, digest) => tarItems(fileChunks(handle, digest), stream, 'tar'));
    case 'tar.gz':
      return withFile(input, i, options, (handle, digest) =>
        tarItems(gunzipped(handle, digest), stream, 'gzip-compressed tar'),
      );
    default:
      return [unreadable(input, i, unknownKind(input))];
  }
}

const READ_SIZE = 1 << 20;
const DIGEST_READ_SIZE = 4 << 20;

/** The kinds of input a digest of the whole file stands for (their records are cut from its bytes alone). */
const WHOLE: ReadonlySet<string> = new Set(['jsonl', 'tar', 'tar.gz']);

/** SHA-256 of a file's bytes as they are read; `ended` once the read reached the end of the file. */
class FileDigest {
  readonly hash: Hash = createHash('sha256');
  ended = false;
}

/** A file's bytes, read into one buffer that is reused for every read (no garbage per read). */
async function* fileChunks(
  handle: FileHandle,
  digest: FileDigest | undefined,
  size = READ_SIZE,
): AsyncGenerator<Uint8Array> {
  const buffer = Buffer.allocUnsafeSlow(size);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, size, null);
    if (bytesRead === 0) {
      if (digest) digest.ended = true;
      return;
    }
    digest?.hash.update(buffer.subarray(0, bytesRead));
    yield buffer.subarray(0, bytesRead);
  }
}

/** A file through node:zlib (faster here than DecompressionStream); a read or gzip error ends the stream with it. */
function gunzipped(handle: FileHandle, digest: FileDigest | undefined): AsyncIterable<Uint8Array> {
  const file = handle.createReadStream({ highWaterMark: READ_SIZE, autoClose: false });
  const gunzip = createGunzip({ chunkSize: 1 << 18 });
  if (digest) {
    // The compressed bytes, as the decompressor gets them: the file as it is on disk.
    file.on('data', (chunk) => {
      digest.hash.update(chunk);
    });
    file.on('end', () => {
      digest.ended = true;
    });
  }
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
  options: ReadOptions,
  read: (handle: FileHandle, digest: FileDigest | undefined) => AsyncIterable<Item>,
): AsyncGenerator<Item> {
  let handle: FileHandle;
  try {
    handle = await openInputFile(path);
  } catch (e) {
    yield unreadable(path, input, e);
    return;
  }
  const digest = options.onInputDigest ? new FileDigest() : undefined;
  try {
    let failed = false;
    for await (const item of read(handle, digest)) {
      if (item.kind === 'failure') failed = true;
      yield item;
    }
    // Only a file read to its end, all of it records, has a digest: one that was not cannot stand for its records.
    if (failed) return;
    if (digest?.ended) options.onInputDigest!(input, digest.hash.digest('hex'));
  } catch (e) {
    yield unreadable(path, input, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * SHA-256 (hex) of every byte of a `.jsonl`, `.tar` or `.tar.gz` input, as
 * `onInputDigest` reports it, without splitting it into records; undefined
 * for anything else, or a file that cannot be read (readInputs reports why).
 * Only regular files are opened.
 */
export async function inputDigest(path: string): Promise<string | undefined> {
  if (!WHOLE.has(kindByName(path) ?? 'json')) return undefined;
  let handle: FileHandle;
  try {
    handle = await openInputFile(path);
  } catch {
    return undefined;
  }
  try {
    const digest = new FileDigest();
    // Nothing to split: the bytes only go through the hash, in larger reads.
    const chunks = fileChunks(handle, digest, DIGEST_READ_SIZE);
    while (!(await chunks.next()).done) {}
    return digest.ended ? digest.hash.digest('hex') : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * The thread of `startInputDigests`: the same digest as `inputDigest`, read
 * synchronously (nothing else runs there). Only a regular file is opened,
 * without blocking (a FIFO swapped in is refused by its fstat); any error is
 * no digest, and readInputs reports it when it reads the file.
 */
const DIGEST_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafeSlow(${DIGEST_READ_SIZE});
for (const path of workerData.paths) {
  let fd;
  let digest = null;
  try {
    // As openInputFile: a device or FIFO is never opened, and what was opened is checked again.
    if (!fs.statSync(path).isFile()) throw new Error('not a regular file');
    fd = fs.openSync(path, ${INPUT_OPEN_FLAGS});
    if (fs.fstatSync(fd).isFile()) {
      const hash = createHash('sha256');
      let n;
      while ((n = fs.readSync(fd, buffer, 0, buffer.length, null)) > 0) hash.update(buffer.subarray(0, n));
      digest = hash.digest('hex');
    }
  } catch {
    digest = null;
  } finally {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
  }
  parentPort.postMessage({ path, digest });
}
`;

/** Digests being computed on a thread of their own: see `startInputDigests`. */
export interface InputDigests {
  /** `inputDigest(path)`, as computed there (or here, for a path it was not given or if it failed). */
  get(path: string): Promise<string | undefined>;
  /** Stops the thread (digests not yet asked for are not needed). */
  close(): void;
}

/**
 * Starts computing `inputDigest` of each `.jsonl`, `.tar` and `.tar.gz` of
 * `paths` on a thread of its own, so that hashing whole files overlaps other
 * start-up work (a state file being loaded) on another core.
 */
export function startInputDigests(paths: readonly string[]): InputDigests {
  const wanted = [...new Set(paths.filter((p) => WHOLE.has(kindByName(p) ?? 'json')))];
  // null: the thread could not say (it failed, or was stopped); asked for, the digest is computed here.
  const waiting = new Map<string, (digest: string | null | undefined) => void>();
  const results = new Map<string, Promise<string | null | undefined>>();
  for (const p of wanted) results.set(p, new Promise((resolve) => waiting.set(p, resolve)));
  const giveUp = (): void => {
    for (const resolve of waiting.values()) resolve(null);
    waiting.clear();
  };
  let worker: Worker | undefined;
  if (wanted.length > 0) {
    try {
      worker = new Worker(DIGEST_THREAD, { eval: true, workerData: { paths: wanted } });
      worker.on('message', (m: { path: string; digest: string | null }) => {
        waiting.get(m.path)?.(m.digest ?? undefined);
        waiting.delete(m.path);
      });
      worker.on('error', giveUp);
      worker.on('exit', giveUp);
      // Not unref'd: a run awaiting a digest must not end for want of anything else to wait on. close() stops it.
    } catch {
      giveUp();
    }
  }
  return {
    get: async (path) => {
      const digest = await results.get(path);
      return digest === null || !results.has(path) ? inputDigest(path) : digest;
    },
    close: () => {
      void worker?.terminate();
    },
  };
}
