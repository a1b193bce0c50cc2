import { type Line, LineSplitter } from '@erst/archive';
import { describe, expect, it } from 'vitest';
import { inputBlocks } from '../input-blocks.js';
import { LINE_COLUMNS, splitLines } from '../sign-lines.js';

type Seen = [line: number, what: string];

/** What LineSplitter (the splitter a batch read line by line with) makes of `chunks`. */
function bySplitter(chunks: Uint8Array[], lineBytes: number): Seen[] {
  const splitter = new LineSplitter(lineBytes);
  const out: Seen[] = [];
  const see = (l: Line) =>
    out.push([l.line, 'tooLong' in l ? `too long: ${l.tooLong}` : Buffer.from(l.bytes).toString('hex')]);
  for (const c of chunks) for (const l of splitter.push(c)) see(l);
  for (const l of splitter.end()) see(l);
  return out;
}

/** What the threads make of the same chunks: blocks cut here, then each split as a thread splits it. */
async function byBlocks(
  chunks: Uint8Array[],
  limits: { lines: number; bytes: number; lineBytes: number; eachChunk?: boolean },
  onBuffer: (bytes: number) => void = () => {},
): Promise<Seen[]> {
  const out: Seen[] = [];
  let before = 0;
  const buffer = (bytes: number) => {
    onBuffer(bytes);
    return new ArrayBuffer(Math.max(bytes, 16));
  };
  async function* source() {
    yield* chunks;
  }
  for await (const block of inputBlocks(source(), { ...limits, buffer })) {
    if ('tooLong' in block) {
      out.push([++before, `too long: ${block.tooLong}`]);
      continue;
    }
    const bytes = Buffer.from(block.data, 0, block.length);
    const { lines, rows } = splitLines(bytes, block.length, limits.lineBytes);
    for (let r = 0; r < rows.length; r += LINE_COLUMNS) {
      const line = before + rows[r]! + 1;
      const [start, end, over] = [rows[r + 1]!, rows[r + 2]!, rows[r + 3]!];
      out.push([line, over > 0 ? `too long: ${over}` : bytes.subarray(start, end).toString('hex')]);
    }
    before += lines;
  }
  return out;
}

/** A small deterministic generator (xorshift), so that a failure can be replayed. */
function random(seed: number): (n: number) => number {
  let x = seed || 1;
  return (n) => {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    return (x >>> 0) % n;
  };
}

const PIECES = ['a', '{"k": 1}', ' ', '\t', '\r', '\n', '\r\n', '\n\n', ' \r\n', 'é', '\u2028', 'x'.repeat(30), '\\n'];

describe('inputBlocks + splitLines: the lines LineSplitter makes, in blocks', () => {
  it('cuts any input, chunked anyhow, into the same lines, numbers and over-long lines', async () => {
    for (let seed = 1; seed <= 400; seed++) {
      const rnd = random(seed);
      const text = Array.from({ length: rnd(80) }, () => PIECES[rnd(PIECES.length)]).join('');
      const bytes = Buffer.from(text, 'utf8');
      const chunks: Uint8Array[] = [];
      for (let i = 0; i < bytes.length; ) {
        const n = 1 + rnd(rnd(2) ? 8 : 200);
        // Some chunks are plain Uint8Arrays (a stream of the caller's), some Buffers.
        const piece = bytes.subarray(i, i + n);
        chunks.push(rnd(2) ? piece : new Uint8Array(piece));
        i += n;
      }
      const limits = {
        lines: [1, 2, 3, 64][rnd(4)]!,
        bytes: [1, 7, 50, 1 << 20][rnd(4)]!,
        lineBytes: [5, 20, 1000][rnd(3)]!,
        eachChunk: rnd(2) === 1,
      };
      expect(await byBlocks(chunks, limits), `seed ${seed}`).toEqual(bySplitter(chunks, limits.lineBytes));
    }
  });

  it('never holds an over-long line: memory stays within the limit and a chunk', async () => {
    const lineBytes = 1000;
    const chunk = Buffer.alloc(4096, 0x78);
    const chunks = [Buffer.from('{"a":1}\n'), ...Array.from({ length: 2000 }, () => chunk), Buffer.from('\n{"b":2}')];
    let most = 0;
    const seen = await byBlocks(chunks, { lines: 64, bytes: 1 << 20, lineBytes }, (b) => {
      most = Math.max(most, b);
    });
    expect(seen).toEqual(bySplitter(chunks, lineBytes));
    expect(seen.map(([line, what]) => [line, what.slice(0, 9)])).toEqual([
      [1, Buffer.from('{"a":1}').toString('hex').slice(0, 9)],
      [2, 'too long:'],
      [3, Buffer.from('{"b":2}').toString('hex').slice(0, 9)],
    ]);
    expect(most).toBeLessThanOrEqual(2 * (lineBytes + chunk.length));
  });

  it('ends a block at the line or byte limit, at a newline', async () => {
    const lines = Array.from({ length: 10 }, (_, i) => `line ${i}\n`).join('');
    const sizes: number[] = [];
    for await (const b of inputBlocks(
      (async function* () {
        yield Buffer.from(lines);
      })(),
      { lines: 3, bytes: 1 << 20, lineBytes: 100, buffer: (n) => new ArrayBuffer(Math.max(n, 16)) },
    )) {
      if ('length' in b) sizes.push(Buffer.from(b.data, 0, b.length).toString().split('\n').length - 1);
    }
    expect(sizes).toEqual([3, 3, 3, 1]);
  });

  it('with eachChunk (a pipe), hands on the whole lines of each chunk as it ends, before the block is full', async () => {
    const blocks: string[] = [];
    const pending: string[] = [];
    const chunks = ['a\nb', '\nc\n', 'd'];
    for await (const b of inputBlocks(
      (async function* () {
        for (const c of chunks) {
          pending.push(c);
          yield Buffer.from(c);
        }
      })(),
      { lines: 64, bytes: 1 << 20, lineBytes: 100, buffer: (n) => new ArrayBuffer(Math.max(n, 16)), eachChunk: true },
    )) {
      // Each block comes before the source is asked for the next chunk: nothing waits on a pipe that says nothing.
      if ('length' in b) blocks.push(`${Buffer.from(b.data, 0, b.length).toString()}|after ${pending.length}`);
    }
    expect(blocks).toEqual(['a\n|after 1', 'b\nc\n|after 2', 'd|after 3']);
  });
});
