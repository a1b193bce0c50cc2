import { randomBytes } from 'node:crypto';
import { closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { DEFAULT_MAX_INPUT_BYTES, ErstError } from '@erst/core';

function fileError(path: string, cause: unknown): ErstError {
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
    return readFileSync(path);
  } catch (cause) {
    if (cause instanceof ErstError) throw cause;
    throw fileError(path, cause);
  }
}

export function readStdin(): Buffer {
  try {
    return readFileSync(0);
  } catch (cause) {
    throw fileError('<stdin>', cause);
  }
}

/** `--payload` style argument: inline text, `@file`, or `-` for stdin. */
export function readArgument(value: string): { text: Buffer; source: string } {
  if (value === '-') return { text: readStdin(), source: '<stdin>' };
  if (value.startsWith('@')) return { text: readInputFile(value.slice(1)), source: value.slice(1) };
  return { text: Buffer.from(value, 'utf8'), source: '<argument>' };
}

/**
 * Writes a file atomically: a temporary file in the same directory, fsync,
 * then rename. Readers see the old file or the complete new one, never a part.
 */
export function writeFileAtomic(path: string, data: string | Uint8Array, mode = 0o644): void {
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
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
    const code = (cause as { code?: string }).code;
    throw new ErstError('ERR_OUTPUT_WRITE', `cannot write ${path} (${code ?? 'error'})`, { cause, details: { file: path } });
  }
}
