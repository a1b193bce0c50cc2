import { rmSync } from 'node:fs';
import { tempDir } from '@erst/fixtures';
import { afterAll } from 'vitest';

/**
 * A maker of scratch directories for one test file: each call makes a new
 * one under the system's temp directory; all are removed after the file's
 * tests.
 */
export function scratchDirs(prefix: string): () => string {
  const made: string[] = [];
  afterAll(() => {
    for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
  });
  return () => {
    const d = tempDir(prefix);
    made.push(d);
    return d;
  };
}

/** Transaction `i`'s hash: `i` in hex, zero-padded to 64 digits. */
export const tx = (i: number): string => i.toString(16).padStart(64, '0');

/** A good payload line for transaction `i`, its result different for every `i`. */
export const line = (i: number): string =>
  JSON.stringify({
    transaction_hash: tx(i),
    payload: { envelope_xdr: 'AAAA', result_meta_xdr: `r${i}`, events: [], logs: [] },
  });
