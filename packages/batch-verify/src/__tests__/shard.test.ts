import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { checkShard, parseShard, shardOf } from '../shard.js';

describe('shards', () => {
  it('K/N is 1-based and checked: a bad one is ERR_OPTIONS_INVALID naming `shard`, never a flag', () => {
    expect(parseShard('2/5')).toEqual({ index: 2, count: 5 });
    for (const bad of ['0/3', '4/3', '1/0', 'a/b', '1', '1/2/3', '-1/2']) {
      expect(() => parseShard(bad), bad).toThrow(
        expect.objectContaining({ code: 'ERR_OPTIONS_INVALID', details: { options: ['shard'] } }),
      );
      expect(() => parseShard(bad), bad).toThrow(`\`shard\` ${JSON.stringify(bad)}: expected K/N`);
      expect(() => parseShard(bad), bad).not.toThrow(/--/);
    }
  });

  it('a shard given as an object is checked the same way', () => {
    expect(checkShard({ index: 1, count: 1 })).toEqual({ index: 1, count: 1 });
    for (const bad of [
      { index: 0, count: 3 },
      { index: 4, count: 3 },
      { index: 1.5, count: 3 },
    ]) {
      expect(() => checkShard(bad)).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }));
    }
  });

  it('assigns a record by its name only, spreading names evenly', () => {
    const names = Array.from({ length: 4000 }, (_, i) => `archive.tar.gz:logs/${i}.json`);
    const counts = [0, 0, 0, 0];
    for (const n of names) {
      const k = shardOf(n, 4);
      expect(shardOf(n, 4)).toBe(k);
      counts[k - 1]!++;
    }
    for (const c of counts) expect(c).toBeGreaterThan(900);
    expect(shardOf('anything', 1)).toBe(1);
    // The split is part of the contract (docs/batch.md): first 4 bytes of SHA-256(name), big-endian, mod N, plus 1.
    for (const n of ['logs/a.json', 'archive.tar.gz:x/1.json']) {
      expect(shardOf(n, 7)).toBe((createHash('sha256').update(n, 'utf8').digest().readUInt32BE(0) % 7) + 1);
    }
    expect([shardOf('logs/a.json', 4), shardOf('archive.tar.gz:x/1.json', 4)]).toEqual([1, 4]);
  });
});
