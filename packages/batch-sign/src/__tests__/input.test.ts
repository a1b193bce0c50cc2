import { execFileSync } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { openBatchInput } from '../input.js';
import { scratchDirs } from './helpers.js';

const scratch = scratchDirs('erst-batch-input-');

/** A file of `n` numbered lines of `width` bytes each (newline included), and its bytes. */
function file(n: number, width: number, tail = ''): { path: string; bytes: Buffer } {
  const lines = Array.from({ length: n }, (_, i) => `${String(i).padStart(8, '0')}${'x'.repeat(width - 9)}\n`);
  const bytes = Buffer.from(lines.join('') + tail);
  const path = join(scratch(), 'in.jsonl');
  writeFileSync(path, bytes);
  return { path, bytes };
}

describe('openBatchInput', () => {
  it('reads a file of several chunks whole and in order, each chunk copied before the next is asked for', async () => {
    // 3.3 MiB: four reads of 1 MiB, the two buffers taking turns twice.
    const { path, bytes } = file(3300, 1049, 'last line, no newline');
    const input = await openBatchInput(path);
    try {
      const copies: Buffer[] = [];
      for await (const chunk of input.chunks) copies.push(Buffer.from(chunk));
      expect(copies.length).toBeGreaterThan(3);
      expect(Buffer.concat(copies).equals(bytes)).toBe(true);
      expect(await input.countLines()).toBe(3301);
    } finally {
      await input.close();
    }
  });

  it('stops when closed part-way, and closes with a read in flight', async () => {
    const { path } = file(3000, 1049);
    const input = await openBatchInput(path);
    let n = 0;
    for await (const _ of input.chunks) {
      if (++n === 2) await input.close();
    }
    expect(n).toBe(2);
    await input.close();
  });

  it('counts the file it opened, whatever is at its path by now (another file, a FIFO): never opens the path again', async () => {
    const { path, bytes } = file(40, 100);
    const input = await openBatchInput(path);
    try {
      // Another file renamed over the path, then a FIFO in its place: a count that opened the path again would count
      // the other file's 7 lines, or wait for a writer forever (this test's timeout).
      const other = join(scratch(), 'other.jsonl');
      writeFileSync(other, 'x\n'.repeat(7));
      renameSync(other, path);
      expect(await input.countLines()).toBe(40);
      rmSync(path);
      execFileSync('mkfifo', [path]);
      expect(await input.countLines()).toBe(40);
      const copies: Buffer[] = [];
      for await (const chunk of input.chunks) copies.push(Buffer.from(chunk));
      expect(Buffer.concat(copies).equals(bytes)).toBe(true);
    } finally {
      await input.close();
    }
    expect(await input.countLines()).toBeUndefined();
  });

  it('reads an empty file as no chunk', async () => {
    const path = join(scratch(), 'empty.jsonl');
    writeFileSync(path, '');
    const input = await openBatchInput(path);
    const chunks: Uint8Array[] = [];
    for await (const c of input.chunks) chunks.push(c);
    expect(await input.countLines()).toBe(0);
    await input.close();
    expect(chunks).toEqual([]);
  });
});
