import { readFileSync } from 'node:fs';
import { fileError, readInputFile } from '@erst/node-io';

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
