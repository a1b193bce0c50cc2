import { readFileSync, statSync } from 'node:fs';
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
    return readFileSync(path);
  } catch (cause) {
    if (cause instanceof ErstError) throw cause;
    throw fileError(path, cause);
  }
}

/** A small text file (PEM, trust file), as UTF-8. */
export function readTextFile(path: string): string {
  return readInputFile(path).toString('utf8');
}
