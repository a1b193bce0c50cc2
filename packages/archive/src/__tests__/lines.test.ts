import { describe, expect, it } from 'vitest';
import { LineSplitter } from '../index.js';

function lines(chunks: string[], max = 1000): unknown[] {
  const s = new LineSplitter(max);
  const out: unknown[] = [];
  for (const c of chunks)
    for (const l of s.push(new TextEncoder().encode(c)))
      out.push('bytes' in l ? [l.line, new TextDecoder().decode(l.bytes)] : [l.line, 'tooLong', l.tooLong]);
  for (const l of s.end())
    out.push('bytes' in l ? [l.line, new TextDecoder().decode(l.bytes)] : [l.line, 'tooLong', l.tooLong]);
  return out;
}

describe('LineSplitter (the one line splitter: .jsonl archives, batch-sign input and resume)', () => {
  it('splits across chunks, strips CR, skips blank lines but keeps their numbers, and returns a last line without newline', () => {
    expect(lines(['a\r\nb', 'c\n\n  \nd'])).toEqual([
      [1, 'a'],
      [2, 'bc'],
      [5, 'd'],
    ]);
  });

  it('reports a line over the limit by size, never buffering it', () => {
    expect(lines(['ok\n', 'x'.repeat(6), 'x'.repeat(6), '\nfine\n'], 10)).toEqual([
      [1, 'ok'],
      [2, 'tooLong', 12],
      [3, 'fine'],
    ]);
    expect(lines(['y'.repeat(20)], 10)).toEqual([[1, 'tooLong', 20]]);
  });
});
