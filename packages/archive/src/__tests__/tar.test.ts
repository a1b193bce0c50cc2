import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { type Item, type TarOptions, readTar } from '../index.js';
import { BLOCK, MAX_EXTENDED_HEADER_BYTES, cString } from '../tar-header.js';
import { chunked, gzip, makeTar, scratchDir } from './helpers.js';

/** Items as `[source, text]` for records and `[source, scope:code]` for failures. */
async function collect(items: AsyncIterable<Item>): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const item of items) {
    out.push(
      item.kind === 'record'
        ? [item.source, new TextDecoder().decode(item.bytes)]
        : [item.source, `${item.scope}:${item.code}`],
    );
  }
  return out;
}

const read = (bytes: Uint8Array, chunk: number, options: Partial<TarOptions> = {}) =>
  collect(readTar(chunked(bytes, chunk), { name: 'a.tar', maxBytes: 100, ...options }));

/** A web ReadableStream without async iteration, as Safari gives them: read through getReader(). */
function webStream(bytes: Uint8Array, chunk: number): ReadableStream<Uint8Array> {
  let at = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(c) {
      if (at >= bytes.length) return c.close();
      c.enqueue(bytes.slice(at, at + chunk));
      at += chunk;
    },
  });
  Object.defineProperty(stream, Symbol.asyncIterator, { value: undefined });
  return stream;
}

describe('cString', () => {
  // ASCII names are made without TextDecoder: every name must read exactly as the decoder reads it.
  it('reads a name up to its NUL exactly as TextDecoder does: ASCII, UTF-8, broken UTF-8, long, empty', () => {
    const decoder = new TextDecoder('utf-8');
    const enc = new TextEncoder();
    const names: Uint8Array[] = [
      enc.encode('records/2026-11-20/a.json'),
      enc.encode('récords/日本/😀.json'),
      new Uint8Array([0x61, 0xc3, 0x28, 0xff, 0x62]),
      new Uint8Array([0x7f, 0x01, 0x20, 0x41]),
      enc.encode('x'.repeat(5000)),
      enc.encode(`${'y'.repeat(5000)}é`),
      new Uint8Array(0),
    ];
    for (const name of names) {
      for (const nul of [false, true]) {
        const field = new Uint8Array(name.length + 8);
        field.set(name, 3);
        if (!nul) field.fill(0x7a, 3 + name.length);
        const upTo = nul ? name : field.subarray(3);
        expect(cString(field, 3, field.length - 3)).toBe(decoder.decode(upTo));
      }
    }
  });
});

describe('readTar', () => {
  it('yields .json members whole and .jsonl members by line, skips everything else, whatever the chunking', async () => {
    const { tar } = await makeTar([
      { name: 'logs/', type: 'directory' },
      { name: 'logs/a.json', data: '{"a":1}' },
      { name: 'logs/link.json', type: 'symlink' },
      { name: 'logs/fifo.json', type: 'fifo' },
      { name: 'notes.txt', data: 'not a record' },
      { name: 'big.json', data: `"${'x'.repeat(200)}"` },
      { name: 'b.jsonl', data: '{"l":1}\r\n\n{"l":3}\n' },
      { name: 'empty.json', data: '' },
    ]);
    const expected = [
      ['a.tar:logs/a.json', '{"a":1}'],
      ['a.tar:big.json', 'record:ERR_INPUT_TOO_LARGE'],
      ['a.tar:b.jsonl:1', '{"l":1}'],
      ['a.tar:b.jsonl:3', '{"l":3}'],
      ['a.tar:empty.json', ''],
    ];
    for (const chunk of [1, 7, BLOCK, 1 << 20]) expect(await read(tar, chunk), `chunks of ${chunk}`).toEqual(expected);
  });

  it('.json members: a view of the chunk when whole in it, else gathered in one reused buffer (valid until the next item)', async () => {
    const { tar } = await makeTar([
      { name: 'a.json', data: `{"a":"${'a'.repeat(300)}"}` },
      { name: 'b.json', data: `{"bb":"${'b'.repeat(400)}"}` },
      { name: 'c.json', data: '{"c":3}' },
    ]);
    // Copies, each with a buffer of its own (a Buffer's slice() would share the archive's).
    const chunks = [
      [0, 1000],
      [1000, 1700],
      [1700, tar.length],
    ].map(([a, b]) => Uint8Array.from(tar.subarray(a, b)));
    async function* source() {
      yield* chunks;
    }
    const seen: { buffer: ArrayBufferLike; text: string }[] = [];
    for await (const item of readTar(source(), { name: 'a.tar', maxBytes: 1000 })) {
      if (item.kind === 'record') seen.push({ buffer: item.bytes.buffer, text: new TextDecoder().decode(item.bytes) });
    }
    expect(seen.map((s) => s.text)).toEqual([`{"a":"${'a'.repeat(300)}"}`, `{"bb":"${'b'.repeat(400)}"}`, '{"c":3}']);
    // a.json (512..820) is whole in the first chunk, b.json (1536..1948) straddles the second and third, c.json
    // (2560..2567) is whole in the third.
    expect(seen[0]!.buffer).toBe(chunks[0]!.buffer);
    expect([chunks[1]!.buffer, chunks[2]!.buffer]).not.toContain(seen[1]!.buffer);
    expect(seen[2]!.buffer).toBe(chunks[2]!.buffer);
  });

  it('reads what GNU tar writes: long names in GNU and pax headers, names over 100 bytes in ustar', async () => {
    const d = scratchDir('erst-archive-gnu-');
    const long = `${'d'.repeat(120)}/${'n'.repeat(110)}.json`;
    mkdirSync(join(d, 'src', 'd'.repeat(120)), { recursive: true });
    writeFileSync(join(d, 'src', long), '{"long":true}');
    writeFileSync(join(d, 'src', 'ünïcode.json'), '{"u":1}');
    for (const format of ['gnu', 'pax', 'ustar']) {
      const path = join(d, `${format}.tar`);
      // ustar cannot hold a 110-byte file name: only the short one goes in.
      const names = format === 'ustar' ? ['ünïcode.json'] : [long, 'ünïcode.json'];
      execFileSync('tar', [`--format=${format}`, '-cf', path, '-C', join(d, 'src'), ...names]);
      const expected = names.map((n) => [`a.tar:${n}`, n === long ? '{"long":true}' : '{"u":1}']);
      expect(await read(readFileSync(path), 1000), format).toEqual(expected);
    }
  });

  it('.tar.gz through DecompressionStream, from a web ReadableStream read without async iteration', async () => {
    const { tar } = await makeTar([
      { name: 'r/1.json', data: '{"n":1}' },
      { name: 'r/2.json', data: '{"n":2}' },
    ]);
    const items = readTar(webStream(gzip(tar), 5), { name: 'a.tgz', maxBytes: 100, gzip: true });
    expect(await collect(items)).toEqual([
      ['a.tgz:r/1.json', '{"n":1}'],
      ['a.tgz:r/2.json', '{"n":2}'],
    ]);
  });

  it('only reads the members a shard accepts', async () => {
    const { tar } = await makeTar([
      { name: 'a.json', data: '{}' },
      { name: 'b.json', data: '{}' },
      { name: 'c.jsonl', data: '{}\n{}\n' },
    ]);
    const accept = (s: string) => s.endsWith('b.json') || s.endsWith(':2');
    expect(await read(tar, 100, { accept })).toEqual([
      ['a.tar:b.json', '{}'],
      ['a.tar:c.jsonl:2', '{}'],
    ]);
  });

  describe('damage', () => {
    const members = [
      { name: 'm0.json', data: '{"m":0}' },
      { name: 'm1.json', data: '{"m":1}' },
      { name: 'm2.json', data: '{"m":2}' },
    ];

    it('not a tar at all, or damaged before the first member: the archive is unreadable', async () => {
      const { tar } = await makeTar(members);
      const badFirst = Buffer.from(tar);
      badFirst.write('garbage!', 148, 'latin1');
      for (const bytes of [Buffer.from('this is not a tar archive'.repeat(30)), badFirst, tar.subarray(0, 300)]) {
        expect(await read(bytes, 64)).toEqual([['a.tar', 'unreadable:ERR_ARCHIVE_CORRUPT']]);
      }
      const gz = await collect(
        readTar(chunked(Buffer.from('not gzip'), 4), { name: 'a.tgz', maxBytes: 9, gzip: true }),
      );
      expect(gz).toEqual([['a.tgz', 'unreadable:ERR_ARCHIVE_CORRUPT']]);
    });

    it('a damaged header after the first member: what came before counts, the damage is a record failure', async () => {
      const { tar, dataOffset } = await makeTar(members);
      const damaged = Buffer.from(tar);
      damaged.write('garbage!', dataOffset[2]! - BLOCK + 148, 'latin1');
      const items = [];
      for await (const item of readTar(chunked(damaged, 64), { name: 'a.tar', maxBytes: 100 })) items.push(item);
      expect(items.map((i) => [i.source, i.kind === 'failure' ? `${i.scope}:${i.code}` : 'record'])).toEqual([
        ['a.tar:m0.json', 'record'],
        ['a.tar:m1.json', 'record'],
        ['a.tar', 'record:ERR_ARCHIVE_CORRUPT'],
      ]);
      expect(items[2]!.kind === 'failure' && items[2]!.message).toContain('after member m1.json');
    });

    it('a member cut short is the failure, named; cut in its padding, the member counts and the archive fails', async () => {
      const { tar, dataOffset } = await makeTar(members);
      const before = [
        ['a.tar:m0.json', '{"m":0}'],
        ['a.tar:m1.json', '{"m":1}'],
      ];
      expect(await read(tar.subarray(0, dataOffset[2]! + 3), 50)).toEqual([
        ...before,
        ['a.tar:m2.json', 'record:ERR_ARCHIVE_CORRUPT'],
      ]);
      expect(await read(tar.subarray(0, dataOffset[2]! + 100), 50)).toEqual([
        ...before,
        ['a.tar:m2.json', '{"m":2}'],
        ['a.tar', 'record:ERR_ARCHIVE_CORRUPT'],
      ]);
    });

    it('an archive that stops between members, without its end blocks, ends there (as tar itself reads it)', async () => {
      const { tar, dataOffset } = await makeTar(members);
      expect(await read(tar.subarray(0, dataOffset[2]! - BLOCK), 50)).toEqual([
        ['a.tar:m0.json', '{"m":0}'],
        ['a.tar:m1.json', '{"m":1}'],
      ]);
    });

    it('an extended header over the limit is damage, not a reason to buffer it', async () => {
      const { tar } = await makeTar([
        { name: 'a.json', data: '{}', pax: { comment: 'v'.repeat(MAX_EXTENDED_HEADER_BYTES) } },
      ]);
      const { tar: small } = await makeTar([{ name: 'a.json', data: '{}', pax: { comment: 'v'.repeat(1000) } }]);
      expect(await read(small, 1 << 16)).toEqual([['a.tar:a.json', '{}']]);
      expect(await read(tar, 1 << 16)).toEqual([['a.tar', 'unreadable:ERR_ARCHIVE_CORRUPT']]);
    });

    it('a size field that is not a number is damage', async () => {
      const { tar } = await makeTar(members);
      const bad = Buffer.from(tar);
      bad.write('12x4', 124, 'latin1');
      // A correct checksum, so that the size field is what is refused.
      bad.fill(0x20, 148, 156);
      let sum = 0;
      for (let i = 0; i < BLOCK; i++) sum += bad[i]!;
      bad.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
      const items = await collect(readTar(chunked(bad, 512), { name: 'a.tar', maxBytes: 100 }));
      expect(items).toEqual([['a.tar', 'unreadable:ERR_ARCHIVE_CORRUPT']]);
    });
  });
});
