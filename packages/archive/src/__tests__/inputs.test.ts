import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DIGEST_BLOCK, type Item, inputDigest, readInputs, startInputDigests } from '../node.js';
import { SlowReads } from '../node/directory.js';
import { gzip, makeTar, scratchDir } from './helpers.js';

/** What a consumer sees, copying each record's bytes before pulling the next (as the contract says). */
async function collect(
  inputs: string[],
  options: Partial<Parameters<typeof readInputs>[1]> = {},
): Promise<[string, string][]> {
  const out: [string, string][] = [];
  for await (const item of readInputs(inputs, { maxBytes: 1000, accept: () => true, ...options })) {
    out.push(
      item.kind === 'record'
        ? [item.source, Buffer.from(item.bytes).toString('utf8')]
        : [item.source, `${item.scope}:${item.code}`],
    );
  }
  return out;
}

describe('readInputs', () => {
  it('directories: sorted, recursive, *.json only; the same items whether read synchronously or ahead asynchronously', async () => {
    const d = scratchDir('erst-inputs-');
    mkdirSync(join(d, 'b', 'c'), { recursive: true });
    writeFileSync(join(d, 'b', 'c', '2.json'), '{"two":2}');
    writeFileSync(join(d, 'b', '1.json'), '{"one":1}');
    writeFileSync(join(d, 'a.json'), '{"a":0}');
    writeFileSync(join(d, 'big.json'), 'x'.repeat(2000));
    writeFileSync(join(d, 'empty.json'), '');
    writeFileSync(join(d, 'skip.txt'), 'no');
    mkdirSync(join(d, 'dir.json'));
    symlinkSync(join(d, 'a.json'), join(d, 'link.json'));
    const expected: [string, string][] = [
      [`${d}/a.json`, '{"a":0}'],
      [`${d}/b/1.json`, '{"one":1}'],
      [`${d}/b/c/2.json`, '{"two":2}'],
      [`${d}/big.json`, 'record:ERR_INPUT_TOO_LARGE'],
      [`${d}/empty.json`, ''],
      [`${d}/link.json`, '{"a":0}'],
    ];
    expect(await collect([d])).toEqual(expected);
    expect(await collect([d], { asyncReads: true, readAhead: 3 })).toEqual(expected);
  });

  it('.jsonl: lines across read boundaries (1 MiB reads into one reused buffer) come out whole', async () => {
    const d = scratchDir('erst-inputs-');
    const lines: string[] = [];
    let size = 0;
    for (let i = 0; size < 3.5 * 1024 * 1024; i++) {
      const line = `{"i":${i},"pad":"${String.fromCharCode(97 + (i % 26)).repeat(500 + ((i * 7919) % 900))}"}`;
      lines.push(line);
      size += line.length + 1;
    }
    writeFileSync(join(d, 'x.jsonl'), `${lines.join('\n')}\n`);
    const got = await collect([join(d, 'x.jsonl')], { maxBytes: 10_000 });
    expect(got).toHaveLength(lines.length);
    got.forEach(([source, text], i) => {
      expect(source).toBe(`${join(d, 'x.jsonl')}:${i + 1}`);
      expect(text).toBe(lines[i]);
    });
  });

  it('archives: a scratch buffer reused between members still yields each member whole', async () => {
    const members = Array.from({ length: 50 }, (_, i) => ({
      name: `m/${i}.json`,
      data: `{"n":${i},"s":"${'z'.repeat(i * 37)}"}`,
    }));
    const d = scratchDir('erst-inputs-');
    writeFileSync(join(d, 'a.tgz'), gzip((await makeTar(members)).tar));
    const got = await collect([join(d, 'a.tgz')], { maxBytes: 10_000 });
    expect(got).toEqual(members.map((m) => [`${join(d, 'a.tgz')}:${m.name}`, m.data]));
  });

  it('only reads what the shard accepts', async () => {
    const d = scratchDir('erst-inputs-');
    writeFileSync(join(d, 'a.json'), '{}');
    writeFileSync(join(d, 'b.json'), '{}');
    const items: Item[] = [];
    for await (const it of readInputs([d], { maxBytes: 100, accept: (s) => s.endsWith('b.json') })) items.push(it);
    expect(items.map((i) => i.source)).toEqual([`${d}/b.json`]);
  });
});

describe('input digests: a .jsonl, .tar or .tar.gz file read whole', () => {
  /** SHA-256 over each DIGEST_BLOCK bytes' SHA-256, written out plainly. */
  const sha256 = (path: string) => {
    const bytes = readFileSync(path);
    const outer = createHash('sha256');
    for (let at = 0; at < bytes.length; at += DIGEST_BLOCK) {
      outer.update(
        createHash('sha256')
          .update(bytes.subarray(at, at + DIGEST_BLOCK))
          .digest(),
      );
    }
    return outer.digest('hex');
  };

  it('a file of several blocks: the same digest read once, read whole, and on 1 to 3 threads; another byte, another digest', async () => {
    const d = scratchDir('erst-digest-');
    const lines = join(d, 'big.jsonl');
    const block = Buffer.alloc(DIGEST_BLOCK, 0x20);
    for (const size of [0, 1, DIGEST_BLOCK - 1, DIGEST_BLOCK, DIGEST_BLOCK + 1, 3 * DIGEST_BLOCK + 5]) {
      const bytes = Buffer.concat([block, block, block, block]).subarray(0, size);
      // Lines under collect's 1000-byte limit: no failure item, so a digest.
      for (let i = 0; i < size; i += 997) bytes[i] = 0x0a;
      writeFileSync(lines, bytes);
      const want = sha256(lines);
      const seen: string[] = [];
      await collect([lines], { onInputDigest: (_, h) => seen.push(h) });
      expect(seen).toEqual([want]);
      expect(await inputDigest(lines)).toBe(want);
      for (const threads of [1, 2, 3]) {
        const ahead = startInputDigests([lines], threads);
        try {
          expect(await ahead.get(lines), `${size} bytes on ${threads} threads`).toBe(want);
        } finally {
          ahead.close();
        }
      }
      if (size > DIGEST_BLOCK) {
        bytes[DIGEST_BLOCK] = bytes[DIGEST_BLOCK]! ^ 1;
        writeFileSync(lines, bytes);
        expect(await inputDigest(lines)).not.toBe(want);
      }
    }
  });

  it('onInputDigest gives the digest of every byte of the file (compressed for .tar.gz), as inputDigest does; none for a directory or a .json', async () => {
    const d = scratchDir('erst-digest-');
    const jsonl = join(d, 'a.jsonl');
    // Blank lines and a missing last line break: bytes outside every record count too.
    writeFileSync(jsonl, '{"a":1}\n\n{"b":2}');
    const { tar } = await makeTar([{ name: 'r.json', data: '{"c":3}' }]);
    writeFileSync(join(d, 'b.tar'), tar);
    writeFileSync(join(d, 'c.tar.gz'), gzip(tar));
    mkdirSync(join(d, 'dir'));
    writeFileSync(join(d, 'dir', 'x.json'), '{}');
    writeFileSync(join(d, 'one.json'), '{}');
    const inputs = [jsonl, join(d, 'b.tar'), join(d, 'c.tar.gz'), join(d, 'dir'), join(d, 'one.json')];
    const seen: [number, string][] = [];
    await collect(inputs, { onInputDigest: (i, h) => seen.push([i, h]) });
    expect(seen).toEqual([0, 1, 2].map((i) => [i, sha256(inputs[i]!)]));
    for (const i of [0, 1, 2]) expect(await inputDigest(inputs[i]!)).toBe(sha256(inputs[i]!));
    expect(await inputDigest(join(d, 'dir'))).toBeUndefined();
    expect(await inputDigest(join(d, 'one.json'))).toBeUndefined();
    expect(await inputDigest(join(d, 'missing.jsonl'))).toBeUndefined();
    // The same digests computed on a thread of their own; a path it was not given is hashed here.
    const ahead = startInputDigests([...inputs, join(d, 'missing.jsonl')]);
    try {
      for (const i of [0, 1, 2]) expect(await ahead.get(inputs[i]!)).toBe(sha256(inputs[i]!));
      expect(await ahead.get(join(d, 'dir'))).toBeUndefined();
      expect(await ahead.get(join(d, 'missing.jsonl'))).toBeUndefined();
      writeFileSync(join(d, 'late.jsonl'), '{}');
      expect(await ahead.get(join(d, 'late.jsonl'))).toBe(sha256(join(d, 'late.jsonl')));
    } finally {
      ahead.close();
    }
    // Stopped before it was asked: every digest is still given, computed here.
    const stopped = startInputDigests(inputs);
    stopped.close();
    expect(await stopped.get(inputs[0]!)).toBe(sha256(inputs[0]!));
  });

  it('no digest for a file whose reading failed part way (a cut-short .tar.gz)', async () => {
    const d = scratchDir('erst-digest-');
    const { tar } = await makeTar([{ name: 'r.json', data: '{"c":3}' }]);
    const gz = gzip(tar);
    writeFileSync(join(d, 'cut.tar.gz'), gz.subarray(0, gz.length - 12));
    const seen: number[] = [];
    const items = await collect([join(d, 'cut.tar.gz')], { onInputDigest: (i) => seen.push(i) });
    expect(items.some(([, what]) => what.includes('ERR_'))).toBe(true);
    expect(seen).toEqual([]);
  });
});

describe('SlowReads', () => {
  it('a thread descheduled now and then (one read in four looks slow, for ever) never switches to asynchronous reads', () => {
    const reads = new SlowReads();
    for (let i = 0; i < 10_000; i++) expect(reads.slow(i % 4 === 0 ? 15 : 0.02)).toBe(false);
  });

  it('storage slow read after read switches after 16 slow reads, even after many fast ones', () => {
    const reads = new SlowReads();
    for (let i = 0; i < 1000; i++) reads.slow(0.02);
    for (let i = 1; i < 16; i++) expect(reads.slow(3)).toBe(false);
    expect(reads.slow(3)).toBe(true);
  });

  it('half of the recent reads slow (network storage with some cached files) switches too', () => {
    const reads = new SlowReads();
    const seen = Array.from({ length: 64 }, (_, i) => reads.slow(i % 2 === 0 ? 5 : 0.02));
    // The 16th slow read is the 31st read.
    expect(seen.indexOf(true)).toBe(30);
  });
});
