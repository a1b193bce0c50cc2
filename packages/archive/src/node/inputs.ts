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

/**
 * A whole file's digest is SHA-256 over the SHA-256 of each of its
 * DIGEST_BLOCK-byte blocks in turn (the last one shorter): every byte is
 * covered, and the blocks of one file can be hashed on several threads at
 * once (startInputDigests) and give what reading it through once gives.
 */
export const DIGEST_BLOCK = 8 << 20;

/** A file's digest (see DIGEST_BLOCK) as its bytes are read; `ended` once the read reached the end of the file. */
class FileDigest {
  readonly #outer: Hash = createHash('sha256');
  #block: Hash = createHash('sha256');
  #filled = 0;
  ended = false;

  update(bytes: Uint8Array): void {
    for (let at = 0; at < bytes.length; ) {
      const take = Math.min(DIGEST_BLOCK - this.#filled, bytes.length - at);
      this.#block.update(bytes.subarray(at, at + take));
      this.#filled += take;
      at += take;
      if (this.#filled === DIGEST_BLOCK) {
        this.#outer.update(this.#block.digest());
        this.#block = createHash('sha256');
        this.#filled = 0;
      }
    }
  }

  digest(): string {
    if (this.#filled > 0) this.#outer.update(this.#block.digest());
    return this.#outer.digest('hex');
  }
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
    digest?.update(buffer.subarray(0, bytesRead));
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
      digest.update(chunk as Buffer);
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
    if (digest?.ended) options.onInputDigest!(input, digest.digest());
  } catch (e) {
    yield unreadable(path, input, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * The digest (see DIGEST_BLOCK) of every byte of a `.jsonl`, `.tar` or `.tar.gz` input, as
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
    return digest.ended ? digest.digest() : undefined;
  } catch {
    return undefined;
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * A thread of `startInputDigests`: blocks `from` to `to` (exclusive) of a
 * file, each hashed (see DIGEST_BLOCK), read synchronously (nothing else
 * runs there). Only a regular file is opened, without blocking (a FIFO
 * swapped in is refused by its fstat), and only the file that was measured:
 * the same device, inode and size, or no digests. Any error is no digest,
 * and readInputs reports it when it reads the file.
 */
const DIGEST_THREAD = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
const buffer = Buffer.allocUnsafeSlow(${DIGEST_BLOCK});
parentPort.on('message', ({ id, path, dev, ino, size, from, to }) => {
  let fd;
  let digests = null;
  try {
    // As openInputFile: a device or FIFO is never opened, and what was opened is checked again.
    if (!fs.statSync(path).isFile()) throw new Error('not a regular file');
    fd = fs.openSync(path, ${INPUT_OPEN_FLAGS});
    const st = fs.fstatSync(fd);
    if (st.isFile() && st.dev === dev && st.ino === ino && st.size === size) {
      const out = new Uint8Array((to - from) * 32);
      for (let b = from; b < to; b++) {
        const length = Math.min(${DIGEST_BLOCK}, size - b * ${DIGEST_BLOCK});
        let off = 0;
        while (off < length) {
          const n = fs.readSync(fd, buffer, off, length - off, b * ${DIGEST_BLOCK} + off);
          if (n === 0) throw new Error('the file shrank');
          off += n;
        }
        out.set(createHash('sha256').update(buffer.subarray(0, length)).digest(), (b - from) * 32);
      }
      digests = out;
    }
  } catch {
    digests = null;
  } finally {
    if (fd !== undefined) try { fs.closeSync(fd); } catch {}
  }
  parentPort.postMessage({ id, digests });
});
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
 * `paths` on `threads` threads of their own (each file's blocks shared
 * between them), so that hashing whole files overlaps other start-up work
 * (a state file being loaded) and uses every core.
 */
export function startInputDigests(paths: readonly string[], threads = 1): InputDigests {
  const wanted = [...new Set(paths.filter((p) => WHOLE.has(kindByName(p) ?? 'json')))];
  const workers: Worker[] = [];
  let stopped = false;
  const results = new Map<string, Promise<string | null>>();
  // Slices of blocks, answered by id; null: a thread could not say (failed, or was stopped).
  const waiting = new Map<number, (digests: Uint8Array | null) => void>();
  let nextId = 0;
  const giveUp = (): void => {
    stopped = true;
    for (const resolve of waiting.values()) resolve(null);
    waiting.clear();
  };
  const ask = (worker: Worker, job: Record<string, unknown>): Promise<Uint8Array | null> => {
    if (stopped) return Promise.resolve(null);
    const id = nextId++;
    return new Promise((resolve) => {
      waiting.set(id, resolve);
      worker.postMessage({ id, ...job });
    });
  };
  const start = (count: number): void => {
    for (let t = 0; t < count; t++) {
      const worker = new Worker(DIGEST_THREAD, { eval: true });
      worker.on('message', (m: { id: number; digests: Uint8Array | null }) => {
        waiting.get(m.id)?.(m.digests);
        waiting.delete(m.id);
      });
      worker.on('error', giveUp);
      worker.on('exit', giveUp);
      // Not unref'd: a run awaiting a digest must not end for want of anything else to wait on. close() stops it.
      workers.push(worker);
    }
  };
  const digestOf = async (path: string): Promise<string | null> => {
    let st: Awaited<ReturnType<typeof stat>>;
    try {
      st = await stat(path);
    } catch {
      return null;
    }
    if (!st.isFile()) return null;
    const blocks = Math.ceil(st.size / DIGEST_BLOCK);
    // Contiguous slices, one per thread: each thread reads its part of the file in order.
    const per = Math.ceil(blocks / workers.length) || 1;
    const parts: Promise<Uint8Array | null>[] = [];
    for (let t = 0; t * per < blocks; t++) {
      const from = t * per;
      const to = Math.min(blocks, from + per);
      parts.push(ask(workers[t]!, { path, dev: st.dev, ino: st.ino, size: st.size, from, to }));
    }
    const outer = createHash('sha256');
    for (const part of await Promise.all(parts)) {
      if (!part) return null;
      outer.update(part);
    }
    return outer.digest('hex');
  };
  if (wanted.length > 0) {
    try {
      start(Math.max(1, threads));
      // One file after another: each has every thread.
      let previous: Promise<unknown> = Promise.resolve();
      for (const p of wanted) {
        const next = previous.then(() => digestOf(p)).catch(() => null);
        results.set(p, next);
        previous = next;
      }
    } catch {
      giveUp();
    }
  }
  return {
    get: async (path) => {
      const digest = await results.get(path);
      // Not computed there (not asked, or a thread failed or was stopped): computed here.
      return digest === null || digest === undefined ? inputDigest(path) : digest;
    },
    close: () => {
      giveUp();
      for (const w of workers) void w.terminate();
    },
  };
}
