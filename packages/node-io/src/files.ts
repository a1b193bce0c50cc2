import { closeSync, constants, fstatSync, openSync, readSync, statSync } from 'node:fs';
import { type FileHandle, open, stat } from 'node:fs/promises';
import { DEFAULT_MAX_INPUT_BYTES, ErstError, isErstError } from '@erst/core';

/**
 * How inputs are opened. O_NONBLOCK: opening a FIFO with no writer returns at
 * once instead of waiting in the kernel, where neither SIGTERM handlers nor
 * process exit can reach it (a blocked libuv thread also keeps the process
 * from exiting). Reads of regular files ignore the flag. O_NOCTTY: a terminal
 * named as input never becomes the controlling terminal.
 */
export const INPUT_OPEN_FLAGS = constants.O_RDONLY | constants.O_NONBLOCK | constants.O_NOCTTY;

/** Turns a node fs error into a coded ErstError that names the file (never its content). */
export function fileError(path: string, cause: unknown): ErstError {
  const code = (cause as { code?: string }).code;
  if (code === 'ENOENT')
    return new ErstError('ERR_FILE_NOT_FOUND', `${path}: no such file`, { details: { file: path } });
  if (code === 'EISDIR')
    return new ErstError('ERR_FILE_IS_DIRECTORY', `${path} is a directory, not a file`, { details: { file: path } });
  // open() gives ENXIO for a socket and for a device without a driver: both are special files.
  if (code === 'ENXIO') return notRegularFile(path);
  return new ErstError('ERR_FILE_UNREADABLE', `${path}: cannot read (${code ?? 'error'})`, { details: { file: path } });
}

/** The error for a FIFO, device or socket given where a file is read: such files are never read. */
export function notRegularFile(path: string): ErstError {
  // nodejs/node#51142: after a stat that found a FIFO, realpathSync can read
  // the stale shared stat buffer and stop following symlinks, so a later lazy
  // import (pnpm's symlinked @erst/attestation) fails. A fresh stat resets it.
  statSync(process.execPath);
  return new ErstError(
    'ERR_FILE_NOT_REGULAR',
    `${path} is not a regular file (a FIFO, device or socket); it is not read`,
    {
      details: { file: path },
    },
  );
}

function tooLarge(path: string, size: number, maxBytes: number): ErstError {
  return new ErstError('ERR_INPUT_TOO_LARGE', `${path} is ${size} bytes, over the limit of ${maxBytes}`, {
    details: { file: path, size, max: maxBytes },
  });
}

/**
 * Reads a whole regular file, refusing directories, special files (FIFOs,
 * devices, sockets: never opened when a stat shows them, never read) and files
 * over the size limit before reading them. Throws ErstError.
 */
export function readInputFile(path: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): Buffer {
  let fd: number | undefined;
  try {
    // Opening some devices has effects of its own (a watchdog arms, a tape rewinds): refuse them unopened.
    const named = statSync(path);
    if (!named.isFile() && !named.isDirectory()) throw notRegularFile(path);
    fd = openSync(path, INPUT_OPEN_FLAGS);
    // The path may have been replaced since the stat: what counts is what was opened.
    const st = fstatSync(fd);
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (!st.isFile()) throw notRegularFile(path);
    if (st.size > maxBytes) throw tooLarge(path, st.size, maxBytes);
    return readUpTo(fd, path, st.size, maxBytes);
  } catch (cause) {
    if (isErstError(cause)) throw cause;
    throw fileError(path, cause);
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}

/**
 * Reads `size` bytes (the file's size when opened). Files in /proc and some
 * FUSE mounts report a size of 0 and still have content: those are read to
 * their end in chunks, refusing more than maxBytes.
 */
function readUpTo(fd: number, path: string, size: number, maxBytes: number): Buffer {
  if (size > 0) {
    const data = Buffer.allocUnsafe(size);
    let off = 0;
    while (off < size) {
      const n = readSync(fd, data, off, size - off, null);
      if (n === 0) break;
      off += n;
    }
    return data.subarray(0, off);
  }
  const chunks: Buffer[] = [];
  let total = 0;
  for (;;) {
    const chunk = Buffer.allocUnsafe(1 << 16);
    const n = readSync(fd, chunk, 0, chunk.length, null);
    if (n === 0) return Buffer.concat(chunks, total);
    total += n;
    if (total > maxBytes) {
      throw new ErstError('ERR_INPUT_TOO_LARGE', `${path} holds more than the limit of ${maxBytes} bytes`, {
        details: { file: path, max: maxBytes },
      });
    }
    chunks.push(chunk.subarray(0, n));
  }
}

/**
 * Opens a regular file to stream it (large inputs, state files), with the
 * checks of readInputFile: never blocks on a FIFO, never opens a device.
 * Throws ErstError.
 */
export async function openInputFile(path: string): Promise<FileHandle> {
  let handle: FileHandle | undefined;
  try {
    const named = await stat(path);
    if (!named.isFile() && !named.isDirectory()) throw notRegularFile(path);
    handle = await open(path, INPUT_OPEN_FLAGS);
    const st = await handle.stat();
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (!st.isFile()) throw notRegularFile(path);
    return handle;
  } catch (cause) {
    await handle?.close().catch(() => {});
    if (isErstError(cause)) throw cause;
    throw fileError(path, cause);
  }
}

/** A small text file (PEM, trust file), as UTF-8. */
export function readTextFile(path: string): string {
  return readInputFile(path).toString('utf8');
}
