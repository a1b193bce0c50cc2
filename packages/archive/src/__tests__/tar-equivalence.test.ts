import { describe, expect, it } from 'vitest';
import type { Item } from '../index.js';
import type { StreamOptions } from '../jsonl.js';
import { tarItems } from '../tar.js';
import { chunked, makeTar } from './helpers.js';
import { referenceTarItems } from './tar-reference.js';

/** Every item in full: source, kind, code, scope, message, and a record's bytes as text. */
async function items(read: AsyncIterable<Item>): Promise<string[]> {
  const out: string[] = [];
  for await (const i of read) {
    out.push(
      i.kind === 'record'
        ? `${i.input} ${i.source} = ${new TextDecoder().decode(i.bytes)}`
        : `${i.input} ${i.source} ${i.scope} ${i.code} ${i.message}`,
    );
  }
  return out;
}

async function both(bytes: Uint8Array, chunk: number, options: StreamOptions): Promise<[string[], string[]]> {
  return [
    await items(tarItems(chunked(bytes, chunk), options, 'tar')),
    await items(referenceTarItems(chunked(bytes, chunk), options, 'tar')),
  ];
}

// Members of every kind the reader tells apart: records that fit a block,
// straddle blocks or are over the limit, lines (blank, CRLF, too long, no
// final newline), skipped members, pax and GNU long names, a pax size, names
// that are JavaScript's own (`__proto__`).
const MEMBERS = [
  { name: 'logs/', type: 'directory' as const },
  { name: 'logs/a.json', data: '{"a":1}' },
  { name: 'logs/__proto__.json', data: '{"__proto__":{"x":1}, "a" : 2 }' },
  { name: 'logs/span.json', data: `{"s":"${'s'.repeat(700)}"}` },
  { name: 'logs/link.json', type: 'symlink' as const },
  { name: 'notes.txt', data: 'skipped'.repeat(90) },
  { name: 'big.json', data: `"${'x'.repeat(1500)}"` },
  { name: 'b.jsonl', data: `{"l":1}\r\n\n  \n${'y'.repeat(1300)}\n{"l":5}\n{"l":6}` },
  { name: 'empty.json', data: '' },
  { name: `${'deep/'.repeat(30)}long.json`, data: '{"long":true}' },
  { name: 'pax.json', data: '{"pax":1}', pax: { comment: 'c'.repeat(600) } },
  { name: 'last.json', data: '{"last":1}' },
];

const OPTIONS: StreamOptions = { name: 'a.tar', maxBytes: 1024, input: 3 };

describe('the synchronous tar parser gives what the async-generator reader gave, item for item', () => {
  it('whole archives, whatever the chunking and sharding', async () => {
    const { tar } = await makeTar(MEMBERS);
    const sharded = { ...OPTIONS, accept: (s: string) => s.length % 2 === 0 };
    for (const chunk of [1, 5, 511, 512, 513, 4096, tar.length]) {
      for (const options of [OPTIONS, sharded, { ...OPTIONS, maxBytes: 8 }]) {
        const [got, want] = await both(tar, chunk, options);
        expect(got, `chunks of ${chunk}`).toEqual(want);
      }
    }
    const [got] = await both(tar, 4096, OPTIONS);
    expect(got.length).toBe(12);
  });

  it('cut short at every byte', async () => {
    const { tar } = await makeTar(MEMBERS);
    for (let end = 0; end <= tar.length; end++) {
      // Every cut near a block boundary, one in five elsewhere; small chunks at a prime stride.
      const inBlock = end % 512;
      if (inBlock > 3 && inBlock < 509 && end % 5 !== 0) continue;
      for (const chunk of end % 11 === 0 ? [7, 1000] : [1000]) {
        const [got, want] = await both(tar.subarray(0, end), chunk, OPTIONS);
        expect(got, `cut at ${end}, chunks of ${chunk}`).toEqual(want);
      }
    }
  }, 60_000);

  it('any one byte damaged (headers, pax records, padding, data)', async () => {
    const { tar } = await makeTar(MEMBERS);
    for (let at = 0; at < tar.length; at += 5) {
      const damaged = Buffer.from(tar);
      damaged[at] = damaged[at]! ^ 0x41;
      const [got, want] = await both(damaged, 700, OPTIONS);
      expect(got, `byte ${at} damaged`).toEqual(want);
    }
  }, 60_000);
});
