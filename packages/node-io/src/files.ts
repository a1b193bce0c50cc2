import { closeSync, openSync, readFileSync, readSync, statSync } from 'node:fs';
import { DEFAULT_MAX_INPUT_BYTES, ErstError } from '@erst/core';

/** Turns a node fs error into a coded ErstError that names the file (never its content). */
export function fileError(path: string, cause: unknown): ErstError {
  const code = (cause as { code?: string }).code;
  if (code === 'ENOENT') return new ErstError('ERR_FILE_NOT_FOUND', `${path}: no such file`, { details: { file: path } });
  if (code === 'EISDIR') return new ErstError('ERR_FILE_IS_DIRECTORY', `${path} is a directory, not a file`, { details: { file: path } });
  return new ErstError('ERR_FILE_UNREADABLE', `${path}: cannot read (${code ?? 'error'})`, { details: { file: path } });
}

/** Reads a whole file, refusing directories and files over the size limit before reading them. */
export function readInputFile(path: string, maxBytes = DEFAULT_MAX_INPUT_BYTES): Buffer {
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (st.size > maxBytes) {
      throw new ErstError('ERR_INPUT_TOO_LARGE', `${path} is ${st.size} bytes, over the limit of ${maxBytes}`, {
        details: { file: path, size: st.size, max: maxBytes },
      });
    }
    if (st.isFile()) return readFileSync(path);
    const data = readBounded(path, maxBytes);
    // nodejs/node#51142: after stat-ing a FIFO, realpathSync can read a stale
    // stat buffer and stop following symlinks, so a later lazy import (pnpm's
    // symlinked @erst/attestation) fails. A fresh stat of a regular path resets it.
    statSync(process.execPath);
    return data;
  } catch (cause) {
    if (cause instanceof ErstError) throw cause;
    throw fileError(path, cause);
  }
}

/** Pipes and devices report no size: read them in chunks, refusing more than maxBytes. */
function readBounded(path: string, maxBytes: number): Buffer {
  const fd = openSync(path, 'r');
  try {
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
  } finally {
    closeSync(fd);
  }
}

/** A small text file (PEM, trust file), as UTF-8. */
export function readTextFile(path: string): string {
  return readInputFile(path).toString('utf8');
}
