import { randomBytes } from 'node:crypto';
import {
  type Stats,
  closeSync,
  constants,
  fstatSync,
  fsyncSync,
  lstatSync,
  openSync,
  readdirSync,
  readlinkSync,
  realpathSync,
  renameSync,
  statSync,
  unlinkSync,
  writeSync,
} from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';
import { ErstError, isErstError } from '@erst/core';

/**
 * The temporary name a write to `path` goes through: hidden, in the same
 * directory, so rename is atomic; with the writer's pid, so that a later run
 * can tell the leftovers of a killed writer from a write in progress.
 */
export function atomicTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True for names `atomicTempPath` makes, with a pid and without (older versions): leftovers of a process killed mid-write. */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.(?:[0-9]+\.)?[0-9a-f]{12}\.tmp$/.test(name);
}

function writeError(path: string, cause: unknown): ErstError {
  if (isErstError(cause)) return cause;
  const code = (cause as { code?: string }).code;
  if (code === 'EISDIR') return isADirectory(path);
  // ENXIO: a FIFO that no process is reading (opened without blocking).
  const why = code === 'ENXIO' ? 'no process is reading it' : (code ?? 'error');
  return new ErstError('ERR_OUTPUT_WRITE', `cannot write ${path} (${why})`, { cause, details: { file: path } });
}

function isADirectory(path: string): ErstError {
  return new ErstError('ERR_OUTPUT_WRITE', `cannot write ${path}: a directory, not a file; name a file`, {
    details: { file: path },
  });
}

function notWritable(path: string): ErstError {
  return new ErstError('ERR_OUTPUT_WRITE', `cannot write ${path}: it is a socket or block device, not a file`, {
    details: { file: path },
  });
}

function errnoCode(e: unknown): string | undefined {
  return (e as { code?: string }).code;
}

/**
 * The file a write to `path` replaces: the path itself, or, when it is a
 * symbolic link, the file it points to (which may not exist yet), so that the
 * link stays a link. Throws unless that is a regular file or absent.
 */
function regularTarget(path: string): string {
  if (path.endsWith('/')) throw isADirectory(path);
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch (e) {
    if (errnoCode(e) !== 'ENOENT') throw e;
  }
  if (st) {
    if (st.isDirectory()) throw isADirectory(path);
    if (!st.isFile()) throw notWritable(path);
    return realpathSync.native(path);
  }
  // Absent, or a link to a file not created yet: follow the links by hand.
  let p = path;
  for (let hops = 0; hops < 40; hops++) {
    try {
      if (!lstatSync(p).isSymbolicLink()) return p;
    } catch (e) {
      if (errnoCode(e) === 'ENOENT') return p;
      throw e;
    }
    p = resolve(dirname(p), readlinkSync(p));
  }
  throw Object.assign(new Error(), { code: 'ELOOP' });
}

/** Whether process `pid` exists (EPERM: it does, under another user). */
function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return errnoCode(e) !== 'ESRCH';
  }
}

/**
 * Removes the temporary files of earlier writes to `target` whose writer is
 * gone (killed before it could clean up). Temporary names without a pid, from
 * older versions, are left: nothing tells whether their writer still runs.
 */
function removeStaleTemps(target: string): void {
  const dir = dirname(target);
  const prefix = `.${basename(target)}.`;
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue;
    const m = /^([0-9]+)\.[0-9a-f]{12}\.tmp$/.exec(name.slice(prefix.length));
    if (!m) continue;
    const pid = Number(m[1]);
    if (pid === process.pid || alive(pid)) continue;
    try {
      unlinkSync(join(dir, name));
    } catch {
      // removed by another run at the same time
    }
  }
}

/**
 * Starts an atomic replacement of `path`: resolves where it goes (see
 * regularTarget), removes what killed writers left for that file, and creates
 * the temporary file. The caller writes to `fd`, fsyncs, closes, renames
 * `temp` over `target` and fsyncs its directory. Throws ERR_OUTPUT_WRITE.
 */
export function createAtomicTemp(path: string, mode = 0o644): { target: string; temp: string; fd: number } {
  try {
    const target = regularTarget(path);
    removeStaleTemps(target);
    const temp = atomicTempPath(target);
    return { target, temp, fd: openSync(temp, 'wx', mode) };
  } catch (cause) {
    throw writeError(path, cause);
  }
}

/**
 * Writes a file atomically: a temporary file in the same directory, fsync,
 * rename, fsync of the directory. Readers see the old file or the complete new
 * one, never a part. A symbolic link stays: the file it points to is replaced.
 * Throws ERR_OUTPUT_WRITE, also for a directory or a special file.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const { target, temp, fd } = createAtomicTemp(path, mode);
  let open: number | undefined = fd;
  try {
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
    closeSync(fd);
    open = undefined;
    renameSync(temp, target);
  } catch (cause) {
    if (open !== undefined) closeSync(open);
    try {
      unlinkSync(temp);
    } catch {
      // already renamed or removed
    }
    throw writeError(path, cause);
  }
  fsyncDirectory(dirname(target));
}

const SLEEP = new Int32Array(new SharedArrayBuffer(4));

/**
 * Writes to a character device or FIFO in place. Opened without blocking: a
 * FIFO that no one reads fails (ENXIO) instead of waiting forever. Writes
 * that would block (a full pipe) are retried.
 */
function writeThrough(path: string, data: Buffer): void {
  let fd: number | undefined;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_NONBLOCK | constants.O_NOCTTY);
    // The path may have changed since it was checked: only a device or FIFO is written in place.
    const st = fstatSync(fd);
    if (!st.isCharacterDevice() && !st.isFIFO()) throw notWritable(path);
    let off = 0;
    let wait = 1;
    while (off < data.length) {
      try {
        off += writeSync(fd, data, off, data.length - off);
        wait = 1;
      } catch (e) {
        if (errnoCode(e) !== 'EAGAIN') throw e;
        Atomics.wait(SLEEP, 0, 0, wait);
        wait = Math.min(wait * 2, 50);
      }
    }
  } catch (cause) {
    throw writeError(path, cause);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Writes an output file (a record, a key, a report) the way every command
 * does: `-` is stdout; a character device (/dev/null, a terminal) or a FIFO
 * is written in place, never replaced; anything else goes through
 * writeFileAtomic (a symbolic link stays, its target is replaced). Throws
 * ERR_OUTPUT_WRITE.
 */
export function writeOutput(path: string, data: string | Uint8Array, mode = 0o644): void {
  if (path === '-') {
    process.stdout.write(data);
    return;
  }
  let st: Stats | undefined;
  try {
    st = statSync(path);
  } catch {
    // absent (or unreachable): writeFileAtomic says why it cannot write
  }
  if (st && (st.isCharacterDevice() || st.isFIFO()))
    writeThrough(path, typeof data === 'string' ? Buffer.from(data, 'utf8') : Buffer.from(data));
  else writeFileAtomic(path, data, mode);
}

/**
 * writeFileAtomic without blocking the event loop, so that many writes (and
 * their fsyncs) can be in flight at once. For new files in a directory the
 * caller owns (no symlink resolution, no leftover cleanup per write).
 */
export async function writeFileAtomicAsync(path: string, data: string | Uint8Array, mode = 0o644): Promise<void> {
  const tmp = atomicTempPath(path);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(tmp, 'wx', mode);
    await handle.writeFile(typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (cause) {
    await handle?.close().catch(() => {});
    await unlink(tmp).catch(() => {});
    throw writeError(path, cause);
  }
}

/** Makes renames into `dir` durable (POSIX needs the directory itself synced). Best effort. */
export function fsyncDirectory(dir: string): void {
  let fd: number | undefined;
  try {
    fd = openSync(dir, 'r');
    fsyncSync(fd);
  } catch {
    // Some filesystems refuse fsync on a directory; the renames are still atomic.
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
