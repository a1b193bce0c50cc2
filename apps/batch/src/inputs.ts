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
import { type FileHandle, readdir, realpath, stat } from 'node:fs/promises';
import type { Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';
import { ErstError, type ErrorCode, isErstError } from '@erst/core';
import tar from 'tar-stream';
import { INPUT_OPEN_FLAGS, type Line, LineSplitter, fileError, notRegularFile, openInputFile } from '@erst/node-io';

/**
 * A record's bytes, or why there are none. `bytes` may be a view of a buffer
 * the reader reuses: copy it before pulling the next item.
 */
export type Item =
  | { kind: 'record'; source: string; input: number; bytes: Uint8Array }
  | {
      kind: 'failure';
      source: string;
      input: number;
      code: ErrorCode;
      message: string;
      /**
       * `unreadable`: input that could not be read at all (exit 2).
       * `record`: one record (or archive member) that could not be read (exit 1).
       */
      scope: 'unreadable' | 'record';
    };

export interface ReadOptions {
  /** Largest record accepted, in bytes. */
  maxBytes: number;
  /** Whether this run owns a source (sharding); others are skipped before they are read. */
  accept: (source: string) => boolean;
  /** Files read at once from a directory once reads are found to be slow. */
  readAhead?: number;
  /** Read directories asynchronously from the start (as for slow storage). */
  asyncReads?: boolean;
}

export type InputKind = 'directory' | 'json' | 'jsonl' | 'tar' | 'tar.gz';

/** The input kind a path's name announces, or undefined. */
export function kindByName(path: string): Exclude<InputKind, 'directory'> | undefined {
  const p = path.toLowerCase();
  if (p.endsWith('.tar.gz') || p.endsWith('.tgz')) return 'tar.gz';
  if (p.endsWith('.tar')) return 'tar';
  if (p.endsWith('.jsonl') || p.endsWith('.ndjson')) return 'jsonl';
  if (p.endsWith('.json')) return 'json';
  return undefined;
}

/**
 * Checks what can be checked before any work starts: an existing file whose
 * kind is unknown is a usage error. Paths that do not exist are reported
 * later, as unreadable input, alongside the results for the others.
 */
export async function checkInputs(inputs: readonly string[]): Promise<void> {
  for (const input of inputs) {
    let isDir: boolean;
    try {
      isDir = (await stat(input)).isDirectory();
    } catch {
      continue;
    }
    if (!isDir && kindByName(input) === undefined) {
      throw new ErstError(
        'ERR_USAGE',
        `${input}: not a directory, .json, .jsonl, .tar, .tar.gz or .tgz file; say which records to verify`,
      );
    }
  }
}

function unreadable(source: string, input: number, e: unknown): Item {
  const err = isErstError(e) ? e : fileError(source, e);
  return { kind: 'failure', source, input, code: err.code, message: err.message, scope: 'unreadable' };
}

function tooLarge(source: string, input: number, size: number, max: number): Item {
  return {
    kind: 'failure',
    source,
    input,
    code: 'ERR_INPUT_TOO_LARGE',
    message: `record is ${size} bytes, over the limit of ${max}`,
    scope: 'record',
  };
}

/** Every record of every input, in a deterministic order, read as streams. */
export async function* readInputs(inputs: readonly string[], options: ReadOptions): AsyncGenerator<Item> {
  for (let i = 0; i < inputs.length; i++) {
    const input = inputs[i]!;
    let isDir: boolean;
    let root: string | undefined;
    try {
      const st = await stat(input);
      isDir = st.isDirectory();
      // FIFOs, devices and sockets are never opened: see notRegularFile.
      if (!isDir && !st.isFile()) throw notRegularFile(input);
      if (isDir) root = await realpath(input);
    } catch (e) {
      yield unreadable(input, i, e);
      continue;
    }
    if (root !== undefined) {
      yield* readFiles(walk(input.replace(/\/+$/, '') || '/', root, i, options), options);
      continue;
    }
    switch (kindByName(input)) {
      case 'json':
        if (options.accept(input)) yield readRecordFileSync(input, i, options.maxBytes);
        break;
      case 'jsonl':
        yield* readJsonlFile(input, i, options);
        break;
      case 'tar':
        yield* readTar(input, i, false, options);
        break;
      case 'tar.gz':
        yield* readTar(input, i, true, options);
        break;
      default:
        yield unreadable(input, i, new ErstError('ERR_USAGE', `${input}: unknown kind of input`));
    }
  }
}

interface FileRef {
  source: string;
  input: number;
}

type WalkItem = FileRef | Item;

/**
 * *.json files under a directory, depth first, names sorted, so every run
 * sees the same order. `root` is the real path of the directory given as
 * input: links are followed only to files inside it.
 */
async function* walk(dir: string, root: string, input: number, options: ReadOptions): AsyncGenerator<WalkItem> {
  let entries: Dirent[];
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch (e) {
    yield unreadable(dir, input, e);
    return;
  }
  entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of entries) {
    const path = dir === '/' ? `/${entry.name}` : `${dir}/${entry.name}`;
    if (entry.isDirectory()) {
      yield* walk(path, root, input, options);
    } else if (entry.name.endsWith('.json') && options.accept(path)) {
      if (entry.isFile()) yield { source: path, input };
      // Links to directories are not walked (no cycles); links to files are checked first.
      else if (entry.isSymbolicLink()) yield await followLink(path, root, input);
      else yield unreadable(path, input, notRegularFile(path));
    }
  }
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
        {
          details: { file: path },
        },
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

/** A read that took longer than this means the storage is remote or slow. */
const SLOW_READ_MS = 2;

/**
 * Reads the files of a directory walk, in order. Local storage is read
 * synchronously: it costs a third of the CPU of asynchronous reads, and the
 * main thread's CPU is taken from the verifiers. When reads turn out to be
 * slow (network storage), the rest is read asynchronously with `readAhead`
 * reads in flight, so that their latency overlaps.
 */
async function* readFiles(refs: AsyncIterable<WalkItem>, options: ReadOptions): AsyncGenerator<Item> {
  const window = Math.max(1, options.readAhead ?? 32);
  let slow = 0;
  let sync = options.asyncReads !== true;
  // Synchronous reads go into one reused buffer (each record is copied by the consumer).
  const scratch = { buffer: Buffer.allocUnsafeSlow(64 * 1024) };
  const queue: Promise<Item>[] = [];
  for await (const ref of refs) {
    if ('kind' in ref) {
      if (sync) yield ref;
      else queue.push(Promise.resolve(ref));
    } else if (sync) {
      const t = performance.now();
      const item = readRecordFileSync(ref.source, ref.input, options.maxBytes, scratch);
      if (performance.now() - t > SLOW_READ_MS && ++slow >= 8) sync = false;
      yield item;
    } else {
      queue.push(readRecordFile(ref.source, ref.input, options.maxBytes));
    }
    if (queue.length >= window) yield await queue.shift()!;
  }
  while (queue.length > 0) yield await queue.shift()!;
}

function notAFile(source: string, input: number, isDirectory: boolean): Item {
  return unreadable(
    source,
    input,
    isDirectory ? Object.assign(new Error(), { code: 'EISDIR' }) : notRegularFile(source),
  );
}

/** One file, one record; its path is its source name. A file that cannot be read is unreadable input. */
function readRecordFileSync(path: string, input: number, maxBytes: number, scratch?: { buffer: Buffer }): Item {
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

function* jsonlItems(lines: Iterable<Line>, prefix: string, input: number, options: ReadOptions): Generator<Item> {
  for (const l of lines) {
    const source = `${prefix}:${l.line}`;
    if (!options.accept(source)) continue;
    if ('tooLong' in l) yield tooLarge(source, input, l.tooLong, options.maxBytes);
    else yield { kind: 'record', source, input, bytes: l.bytes };
  }
}

async function* readJsonlStream(
  stream: AsyncIterable<Buffer>,
  prefix: string,
  input: number,
  options: ReadOptions,
): AsyncGenerator<Item> {
  const splitter = new LineSplitter(options.maxBytes);
  for await (const chunk of stream) yield* jsonlItems(splitter.push(chunk), prefix, input, options);
  yield* jsonlItems(splitter.end(), prefix, input, options);
}

/** A file's bytes, read into one buffer that is reused for every read (no garbage per read). */
async function* fileChunks(handle: FileHandle): AsyncGenerator<Buffer> {
  const buffer = Buffer.allocUnsafeSlow(READ_SIZE);
  for (;;) {
    const { bytesRead } = await handle.read(buffer, 0, READ_SIZE, null);
    if (bytesRead === 0) return;
    yield buffer.subarray(0, bytesRead);
  }
}

const READ_SIZE = 1 << 20;

/**
 * Opens an input first, so that a missing file is one unreadable input
 * rather than an error mid-stream: the handle, or the Item to report.
 */
async function openInput(path: string, input: number): Promise<{ handle: FileHandle } | { failed: Item }> {
  try {
    return { handle: await openInputFile(path) };
  } catch (e) {
    return { failed: unreadable(path, input, e) };
  }
}

async function* readJsonlFile(path: string, input: number, options: ReadOptions): AsyncGenerator<Item> {
  const opened = await openInput(path, input);
  if ('failed' in opened) {
    yield opened.failed;
    return;
  }
  const { handle } = opened;
  try {
    yield* readJsonlStream(fileChunks(handle), path, input, options);
  } catch (e) {
    // A read error part way through (EIO): what was read is verified, the rest is unreadable.
    yield unreadable(path, input, e);
  } finally {
    await handle.close().catch(() => {});
  }
}

/**
 * A .tar or .tar.gz, streamed: only the member being read is in memory.
 * Damage found before the first member means the archive is unreadable
 * (exit 2); damage after it is reported against the member being read (or
 * the archive, between members) and what came before still counts. Nothing
 * after the damage can be trusted to start at a member boundary, so the
 * archive ends there.
 */
async function* readTar(path: string, input: number, gzip: boolean, options: ReadOptions): AsyncGenerator<Item> {
  const opened = await openInput(path, input);
  if ('failed' in opened) {
    yield opened.failed;
    return;
  }
  const { handle } = opened;
  const file = handle.createReadStream({ highWaterMark: 1 << 20 });
  const extract = tar.extract();
  let source: Readable = file;
  if (gzip) {
    const gunzip = createGunzip({ chunkSize: 1 << 18 });
    file.on('error', (e) => gunzip.destroy(e));
    source = file.pipe(gunzip);
  }
  source.on('error', (e) => extract.destroy(e));
  source.pipe(extract as unknown as NodeJS.WritableStream);

  let members = 0;
  let scratch = Buffer.allocUnsafeSlow(64 * 1024);
  let current: string | undefined;
  let last: string | undefined;
  try {
    for await (const entry of extract) {
      members++;
      const h = entry.header;
      const name = h.name;
      const kind = h.type === 'file' || h.type === 'contiguous-file' ? kindByName(name) : undefined;
      const memberSource = `${path}:${name}`;
      if (kind === 'json' && options.accept(memberSource)) {
        current = name;
        if (h.size > options.maxBytes) {
          entry.resume();
          await finished(entry);
          yield tooLarge(memberSource, input, h.size, options.maxBytes);
        } else {
          // One scratch buffer for the archive, grown as needed: consumers copy each record.
          if (scratch.length < h.size) scratch = Buffer.allocUnsafeSlow(Math.max(h.size, scratch.length * 2));
          let off = 0;
          for await (const chunk of entry as AsyncIterable<Buffer>) {
            off += chunk.copy(scratch, off);
          }
          yield { kind: 'record', source: memberSource, input, bytes: scratch.subarray(0, off) };
        }
      } else if (kind === 'jsonl') {
        current = name;
        yield* readJsonlStream(entry as AsyncIterable<Buffer>, memberSource, input, options);
      } else {
        entry.resume();
        await finished(entry);
      }
      last = name;
      current = undefined;
    }
  } catch (e) {
    const why = (e as Error).message || 'read error';
    if (members === 0) {
      const err = new ErstError(
        'ERR_ARCHIVE_CORRUPT',
        `${path}: not a readable ${gzip ? 'gzip-compressed tar' : 'tar'} archive (${why})`,
      );
      yield unreadable(path, input, err);
    } else {
      const where = current !== undefined ? `${path}:${current}` : path;
      if (options.accept(where)) {
        yield {
          kind: 'failure',
          source: where,
          input,
          code: 'ERR_ARCHIVE_CORRUPT',
          message:
            current !== undefined
              ? `archive member is cut short or damaged (${why}); nothing after it in ${path} could be read`
              : `archive is damaged after member ${last ?? '(none)'} (${why}); nothing after it could be read`,
          scope: 'record',
        };
      }
    }
  } finally {
    extract.destroy();
    file.destroy();
    await handle.close().catch(() => {});
  }
}

function finished(stream: { on(event: string, fn: (...a: unknown[]) => void): unknown }): Promise<void> {
  return new Promise((resolve, reject) => {
    stream.on('end', () => resolve());
    stream.on('close', () => resolve());
    stream.on('error', (e) => reject(e));
  });
}
