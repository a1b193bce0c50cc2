import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@erst/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { filesWithin } from '../index.js';

const dir = tempDir('erst-launch-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('filesWithin', () => {
  const small = join(dir, 'small.json');
  const big = join(dir, 'big.jsonl');
  writeFileSync(small, 'x'.repeat(100));
  writeFileSync(big, 'x'.repeat(2000));
  mkdirSync(join(dir, 'sub'));

  it('counts the bytes of the named regular files; flags and words naming nothing count for nothing', () => {
    expect(filesWithin(['verify', small, '--public-key', 'ab'.repeat(32), '-q'], 100)).toBe(true);
    expect(filesWithin(['verify', small, small], 199)).toBe(false);
    expect(filesWithin(['verify', big], 1999)).toBe(false);
    expect(filesWithin(['verify', big], 2000)).toBe(true);
    expect(filesWithin(['--help'], 0)).toBe(true);
  });

  it('a directory or anything but a regular file makes it false (never opened: a FIFO would block)', () => {
    expect(filesWithin(['verify', join(dir, 'sub')], 1 << 20)).toBe(false);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(filesWithin(['verify', fifo], 1 << 20)).toBe(false);
    // A link is judged by what it points to: to a FIFO it is no small run; to a small file it is one.
    symlinkSync(fifo, join(dir, 'to-fifo'));
    symlinkSync(small, join(dir, 'to-small'));
    expect(filesWithin(['verify', join(dir, 'to-fifo')], 1 << 20)).toBe(false);
    expect(filesWithin(['verify', join(dir, 'to-small')], 100)).toBe(true);
  });
});
