import { describe, expect, it } from 'vitest';
import { type Item, readJsonl } from '../index.js';
import { chunked } from './helpers.js';

async function collect(items: AsyncIterable<Item>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const item of items) {
    out.push([
      item.source,
      item.kind === 'record' ? new TextDecoder().decode(item.bytes) : `${item.scope}:${item.code}`,
    ]);
  }
  return out;
}

const text = '{"a":1}\r\n\n  \n{"b":2}\n{"too":"long, over the limit"}\n{"c":3}';

describe('readJsonl', () => {
  it('one record per non-blank line, numbered from 1, CRLF or LF, the last line without a newline too', async () => {
    for (const chunk of [1, 3, 1000]) {
      const items = readJsonl(chunked(new TextEncoder().encode(text), chunk), { name: 'x.jsonl', maxBytes: 20 });
      expect(await collect(items), `chunks of ${chunk}`).toEqual([
        ['x.jsonl:1', '{"a":1}'],
        ['x.jsonl:4', '{"b":2}'],
        ['x.jsonl:5', 'record:ERR_INPUT_TOO_LARGE'],
        ['x.jsonl:6', '{"c":3}'],
      ]);
    }
  });

  it('reads a web ReadableStream (a Blob, through CompressionStream and DecompressionStream), with the input index given', async () => {
    const stream = new Blob([text])
      .stream()
      .pipeThrough(new CompressionStream('gzip'))
      .pipeThrough(new DecompressionStream('gzip'));
    const items: Item[] = [];
    for await (const item of readJsonl(stream, {
      name: 'x.jsonl',
      maxBytes: 20,
      input: 3,
      accept: (s) => s !== 'x.jsonl:4',
    }))
      items.push(item);
    expect(items.map((i) => [i.source, i.input])).toEqual([
      ['x.jsonl:1', 3],
      ['x.jsonl:5', 3],
      ['x.jsonl:6', 3],
    ]);
  });

  it('keeps a line whole when its producer reuses one buffer for every chunk', async () => {
    const bytes = new TextEncoder().encode('{"first":"line"}\n{"second":"line"}\n');
    async function* reused(): AsyncGenerator<Uint8Array> {
      const buffer = new Uint8Array(5);
      for (let i = 0; i < bytes.length; i += 5) {
        const piece = bytes.subarray(i, i + 5);
        buffer.set(piece);
        yield buffer.subarray(0, piece.length);
      }
    }
    const got: string[] = [];
    // Copied before the next pull, as the Item contract says.
    for await (const item of readJsonl(reused(), { name: 'r', maxBytes: 100 }))
      if (item.kind === 'record') got.push(new TextDecoder().decode(item.bytes));
    expect(got).toEqual(['{"first":"line"}', '{"second":"line"}']);
  });
});
