import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, renameSync, unlinkSync, writeSync } from 'node:fs';
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { ErstError } from '@erst/core';

/** The temporary name a write to `path` goes through: hidden, in the same directory, so rename is atomic. */
export function atomicTempPath(path: string): string {
  return join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
}

/** True for names `atomicTempPath` makes: leftovers of a process killed mid-write. */
export function isAtomicTempName(name: string): boolean {
  return /^\..+\.[0-9a-f]{12}\.tmp$/.test(name);
}

function writeError(path: string, cause: unknown): ErstError {
  const code = (cause as { code?: string }).code;
  return new ErstError('ERR_OUTPUT_WRITE', `cannot write ${path} (${code ?? 'error'})`, { cause, details: { file: path } });
}

/**
 * Writes a file atomically: a temporary file in the same directory, fsync,
 * then rename. Readers see the old file or the complete new one, never a part.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = atomicTempPath(path);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', mode);
    writeSync(fd, typeof data === 'string' ? Buffer.from(data, 'utf8') : data);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (cause) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      // the temporary file was never created
    }
    throw writeError(path, cause);
  }
}

/**
 * writeFileAtomic without blocking the event loop, so that many writes (and
 * their fsyncs) can be in flight at once.
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
