import { realpath, stat } from 'node:fs/promises';
import { Worker } from 'node:worker_threads';
import { INPUT_OPEN_FLAGS } from '@erst/node-io';
import { listFiles } from './directory.js';

/**
 * The record files of a directory input, in the order readInputs reads
 * them (the same walk: names sorted, links followed only inside it, `accept`
 * asked of each), or undefined if the path is not a directory or anything
 * in it would be a failure item (an unreadable subdirectory, a FIFO, a link
 * leaving it).
 */
export async function directoryFiles(dir: string, accept: (source: string) => boolean): Promise<string[] | undefined> {
  let root: string;
  try {
    if (!(await stat(dir)).isDirectory()) return undefined;
    root = await realpath(dir);
  } catch {
    return undefined;
  }
  return listFiles(dir.replace(/\/+$/, '') || '/', root, accept);
}

/**
 * One thread of `hashFiles`: each file opened as readRecordFileSync opens it
 * (never blocking on a FIFO swapped in: a non-regular file is refused by its
 * fstat), read up to the size fstat gave, as readRecordFileSync reads it, and
 * hashed. A file that cannot be read, is not a regular file or is over
 * `maxBytes` has no digest (its flag stays 0).
 */
const HASH_THREAD = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
const fs = require('node:fs');
let buffer = Buffer.allocUnsafeSlow(1 << 20);
parentPort.on('message', ({ id, paths, maxBytes }) => {
  const digests = new Uint8Array(paths.length * 32);
  const ok = new Uint8Array(paths.length);
  for (let i = 0; i < paths.length; i++) {
    let fd;
    try {
      fd = fs.openSync(paths[i], ${INPUT_OPEN_FLAGS});
      const st = fs.fstatSync(fd);
      if (!st.isFile() || st.size > maxBytes) continue;
      if (buffer.length < st.size) buffer = Buffer.allocUnsafeSlow(Math.max(st.size, buffer.length * 2));
      let off = 0;
      while (off < st.size) {
        const n = fs.readSync(fd, buffer, off, st.size - off, null);
        if (n === 0) break;
        off += n;
      }
      digests.set(createHash('sha256').update(buffer.subarray(0, off)).digest(), i * 32);
      ok[i] = 1;
    } catch {
    } finally {
      if (fd !== undefined) try { fs.closeSync(fd); } catch {}
    }
  }
  parentPort.postMessage({ id, digests, ok }, [digests.buffer, ok.buffer]);
});
`;

/** Files per message to a hashing thread. */
const BATCH = 256;

/**
 * SHA-256 of each file's bytes (what readRecordFileSync reads: a regular
 * file of at most `maxBytes`), hex, in order, computed on `threads` threads
 * of their own with two batches in flight each: the files' reads and hashes
 * overlap one another and the calling thread. Undefined for a file that
 * could not be read as a record, or for every file if a thread fails or
 * `signal` aborts (the threads are stopped at once).
 */
export async function hashFiles(
  paths: readonly string[],
  maxBytes: number,
  threads: number,
  signal?: AbortSignal,
): Promise<(string | undefined)[]> {
  const out = new Array<string | undefined>(paths.length).fill(undefined);
  if (paths.length === 0 || signal?.aborted) return out;
  const count = Math.max(1, Math.min(threads, Math.ceil(paths.length / BATCH)));
  const workers: Worker[] = [];
  try {
    await new Promise<void>((resolve, reject) => {
      signal?.addEventListener('abort', () => reject(new Error('aborted')), { once: true });
      let next = 0;
      let pending = 0;
      const send = (w: Worker): void => {
        if (next >= paths.length) {
          if (pending === 0) resolve();
          return;
        }
        const id = next;
        next += BATCH;
        pending++;
        w.postMessage({ id, paths: paths.slice(id, id + BATCH), maxBytes });
      };
      for (let t = 0; t < count; t++) {
        const w = new Worker(HASH_THREAD, { eval: true });
        workers.push(w);
        w.on('message', (m: { id: number; digests: Uint8Array; ok: Uint8Array }) => {
          pending--;
          const hex = Buffer.from(m.digests.buffer, m.digests.byteOffset, m.digests.byteLength).toString('hex');
          for (let i = 0; i < m.ok.length; i++) if (m.ok[i]) out[m.id + i] = hex.slice(i * 64, i * 64 + 64);
          send(w);
        });
        w.on('error', reject);
        w.on('exit', () => reject(new Error('a hashing thread stopped')));
        send(w);
        send(w);
      }
    });
  } catch {
    out.fill(undefined);
  } finally {
    for (const w of workers) void w.terminate();
  }
  return out;
}
