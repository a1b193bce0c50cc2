import {
  type Dirent,
  closeSync,
  close as fsClose,
  fstat as fsFstat,
  open as fsOpen,
  read as fsRead,
  fstatSync,
  openSync,
  readSync,
} from 'node:fs';
import { readdir, realpath, stat } from 'node:fs/promises';
import { ErstError } from '@erst/core';
import { INPUT_OPEN_FLAGS, notRegularFile } from '@erst/node-io';
import { type Item, tooLarge } from '../item.js';
import { notAFile, unreadable } from './failures.js';
import type { ReadOptions } from './options.js';

interface FileRef {
  source: string;
  input: number;
}

type WalkItem = FileRef | Item;

/** Every record file under a directory, read in a deterministic order. */
export function readDirectory(dir: string, root: string, input: number, options: ReadOptions): AsyncGenerator<Item> {
  return readFiles(walk(dir, root, input, options), options);
}

/**
 * *.json files under a directory, depth first, names sorted, so every run
 * sees the same order. `root` is the real path of the directory given as
 * input: links are followed only to files inside it. Yielded in runs (a
 * directory's files between its subdirectories): one step of an async
 * generator per file, through every level of the tree, cost more than
 * reading a small file.
 */
async function* walk(dir: string, root: string, input: number, options: ReadOptions): AsyncGenerator<WalkItem[]> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    yield [unreadable(dir, input, e)];
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  let run: WalkItem[] = [];
  for (const entry of entries) {
    const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      if (run.length > 0) yield run;
      run = [];
      yield* walk(path, root, input, options);
    } else if (entry.name.endsWith('.json') && options.accept(path)) {
      if (entry.isFile()) run.push({ source: path, input });
      // Links to directories are not walked (no cycles); links to files are checked first.
      else if (entry.isSymbolicLink()) run.push(await followLink(path, root, input));
      else run.push(unreadable(path, input, notRegularFile(path)));
    }
  }
  if (run.length > 0) yield run;
}

/**
 * A link found in a directory walk, if it may be read: a link whose target
 * leaves the input directory (`passwd.json -> /etc/passwd`) would put another
 * file's content in the reports, and a link to a FIFO or device is never
 * opened. Anything else (a missing target, a directory) is left to the read.
 */
async function followLink(path: string, root: string, input: number): Promise<WalkItem> {
  try {
    const real = await realpath(path);
    if (real !== root && !real.startsWith(root === '/' ? '/' : `${root}/`)) {
      const err = new ErstError(
        'ERR_FILE_OUTSIDE_ROOT',
        `${path} is a link to a file outside the input directory; not followed`,
        { details: { file: path } },
      );
      return unreadable(path, input, err);
    }
    const st = await stat(real);
    if (!st.isFile() && !st.isDirectory()) return unreadable(path, input, notRegularFile(path));
  } catch (e) {
    return unreadable(path, input, e);
  }
  return { source: path, input };
}

/**
 * The files `walk` yields from `dir` (see directoryFiles), or undefined if it
 * yields any failure item.
 */
export async function listFiles(
  dir: string,
  root: string,
  accept: (source: string) => boolean,
): Promise<string[] | undefined> {
  const files: string[] = [];
  for await (const run of walk(dir, root, 0, { maxBytes: 0, accept })) {
    for (const ref of run) {
      if ('kind' in ref) return undefined;
      files.push(ref.source);
    }
  }
  return files;
}

/** A read that took longer than this means the storage is remote or slow. */
const SLOW_READ_MS = 2;

/**
 * Decides when a directory's reads are slow enough to overlap: when at least
 * `threshold` of the last `window` reads took over SLOW_READ_MS. A count over
 * the whole run was not enough: on a busy machine the reading thread is
 * descheduled now and then in the middle of a read (a time slice is a few
 * milliseconds), so a local disk's reads looked slow eight times over a long
 * run, and the rest of the run was read asynchronously (libuv's threads, a
 * wake-up per file: about 40 µs of CPU per file more). Slow storage is slow
 * read after read; a descheduled thread is not.
 */
export class SlowReads {
  readonly #recent: Uint8Array;
  readonly #threshold: number;
  #next = 0;
  #slow = 0;

  constructor(window = 32, threshold = 16) {
    this.#recent = new Uint8Array(window);
    this.#threshold = threshold;
  }

  /** Records one read's duration; true once reads are slow. */
  slow(ms: number): boolean {
    const slow = ms > SLOW_READ_MS ? 1 : 0;
    this.#slow += slow - this.#recent[this.#next]!;
    this.#recent[this.#next] = slow;
    this.#next = (this.#next + 1) % this.#recent.length;
    return this.#slow >= this.#threshold;
  }
}

/**
 * Reads the files of a directory walk, in order. Local storage is read
 * synchronously: it costs a third of the CPU of asynchronous reads, and the
 * main thread's CPU is taken from the verifiers. When reads turn out to be
 * slow (network storage: see SlowReads), the rest is read asynchronously
 * with `readAhead` reads in flight, so that their latency overlaps.
 */
async function* readFiles(runs: AsyncIterable<WalkItem[]>, options: ReadOptions): AsyncGenerator<Item> {
  const window = Math.max(1, options.readAhead ?? 32);
  const slow = new SlowReads();
  let sync = options.asyncReads !== true;
  // Synchronous reads go into one reused buffer (each record is copied by the consumer).
  const scratch = { buffer: Buffer.allocUnsafeSlow(64 * 1024) };
  const queue: Promise<Item>[] = [];
  for await (const run of runs) {
    for (const ref of run) {
      if ('kind' in ref) {
        if (sync) yield ref;
        else queue.push(Promise.resolve(ref));
      } else if (sync) {
        const t = performance.now();
        const item = readRecordFileSync(ref.source, ref.input, options.maxBytes, scratch);
        if (slow.slow(performance.now() - t)) sync = false;
        yield item;
      } else {
        queue.push(readRecordFile(ref.source, ref.input, options.maxBytes));
      }
      if (queue.length >= window) yield await queue.shift()!;
    }
  }
  while (queue.length > 0) yield await queue.shift()!;
}

/** One file, one record; its path is its source name. A file that cannot be read is unreadable input. */
export function readRecordFileSync(path: string, input: number, maxBytes: number, scratch?: { buffer: Buffer }): Item {
  let fd: number | undefined;
  try {
    fd = openSync(path, INPUT_OPEN_FLAGS);
    const st = fstatSync(fd);
    if (!st.isFile()) return notAFile(path, input, st.isDirectory());
    if (st.size > maxBytes) return tooLarge(path, input, st.size, maxBytes);
    if (scratch && scratch.buffer.length < st.size)
      scratch.buffer = Buffer.allocUnsafeSlow(Math.max(st.size, scratch.buffer.length * 2));
    const bytes = scratch ? scratch.buffer : Buffer.allocUnsafe(st.size);
    let off = 0;
    while (off < st.size) {
      const n = readSync(fd, bytes, off, st.size - off, null);
      if (n === 0) break;
      off += n;
    }
    return { kind: 'record', source: path, input, bytes: bytes.subarray(0, off) };
  } catch (e) {
    return unreadable(path, input, e);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/** readRecordFileSync with callbacks (lighter than FileHandle promises), for slow storage. */
function readRecordFile(path: string, input: number, maxBytes: number): Promise<Item> {
  return new Promise((resolve) => {
    fsOpen(path, INPUT_OPEN_FLAGS, (err, fd) => {
      if (err) return resolve(unreadable(path, input, err));
      const done = (item: Item) => fsClose(fd, () => resolve(item));
      fsFstat(fd, (err, st) => {
        if (err) return done(unreadable(path, input, err));
        if (!st.isFile()) return done(notAFile(path, input, st.isDirectory()));
        if (st.size > maxBytes) return done(tooLarge(path, input, st.size, maxBytes));
        const bytes = Buffer.allocUnsafe(st.size);
        const next = (off: number): void => {
          fsRead(fd, bytes, off, st.size - off, null, (err, n) => {
            if (err) return done(unreadable(path, input, err));
            if (n === 0 || off + n >= st.size)
              return done({ kind: 'record', source: path, input, bytes: bytes.subarray(0, off + n) });
            next(off + n);
          });
        };
        next(0);
      });
    });
  });
}
