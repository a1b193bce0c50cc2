import { isErstError } from '@erst/core';
import { describe, expect, it } from 'vitest';
import {
  MerkleTree,
  encodeEntryBundle,
  encodeTileIndex,
  parseEntryBundle,
  parseTile,
  tileData,
  tileHashSource,
  tilePath,
  tilesForSize,
  treeRoot,
} from '../index.js';
import { entries } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isErstError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('tlog-tiles paths', () => {
  it('encodes N in 3-digit elements, all but the last prefixed x', () => {
    expect(encodeTileIndex(1234067)).toBe('x001/x234/067');
    expect(encodeTileIndex(0)).toBe('000');
    expect(encodeTileIndex(999)).toBe('999');
    expect(encodeTileIndex(1000)).toBe('x001/000');
    expect(tilePath({ level: 0, index: 5, width: 256 })).toBe('tile/0/005');
    expect(tilePath({ level: 2, index: 1234067, width: 17 })).toBe('tile/2/x001/x234/067.p/17');
    expect(tilePath({ level: 'entries', index: 1, width: 3 })).toBe('tile/entries/001.p/3');
    expect(code(() => tilePath({ level: 0, index: 0, width: 0 }))).toBe('ERR_OPTIONS_INVALID');
    expect(code(() => tilePath({ level: 64, index: 0, width: 1 }))).toBe('ERR_OPTIONS_INVALID');
  });

  it("lists a tree's tiles as the spec's examples say (70,000 and 256 leaves)", () => {
    const count = (size: number) => {
      const tiles = tilesForSize(size, { entries: false });
      return tiles
        .map((t) => `${t.level}:${t.width}`)
        .reduce<Record<string, number>>((acc, k) => {
          acc[k] = (acc[k] ?? 0) + 1;
          return acc;
        }, {});
    };
    expect(count(70_000)).toEqual({ '0:256': 273, '0:112': 1, '1:256': 1, '1:17': 1, '2:1': 1 });
    expect(count(256)).toEqual({ '0:256': 1, '1:1': 1 });
    expect(tilesForSize(0)).toEqual([]);
    expect(tilesForSize(3).map(tilePath)).toEqual(['tile/entries/000.p/3', 'tile/0/000.p/3']);
  });

  it('lists only the tiles a log growing from an older size writes', () => {
    // From 300 to 600: level-0 tile 1 was partial (44) and is now full; tile 2 is new; level 1 grows from 1 to 2.
    expect(tilesForSize(600, { fromSize: 300, entries: false }).map(tilePath)).toEqual([
      'tile/0/001',
      'tile/0/002.p/88',
      'tile/1/000.p/2',
    ]);
    expect(tilesForSize(256, { fromSize: 256 }).map(tilePath)).toEqual([]);
  });
});

describe('tiles and entry bundles', () => {
  const data = entries(600);
  const tree = new MerkleTree();
  for (const e of data) tree.append(e);

  it('recomputes the root from the tiles alone', () => {
    for (const size of [1, 255, 256, 257, 511, 512, 600]) {
      const source = tileHashSource(size, (level, index, width) => tileData(tree, level, index, width));
      expect(hex(treeRoot(source, size))).toBe(hex(tree.root(size)));
    }
  });

  it('a truncated or overlong tile is ERR_TLOG_TILE_INVALID', () => {
    const tile = tileData(tree, 0, 0, 256);
    expect(parseTile(tile, 256)).toHaveLength(256);
    expect(code(() => parseTile(tile.subarray(0, 8191), 256))).toBe('ERR_TLOG_TILE_INVALID');
    expect(code(() => parseTile(tile, 255))).toBe('ERR_TLOG_TILE_INVALID');
    const source = tileHashSource(600, (level, index, width) => tileData(tree, level, index, width).subarray(1));
    expect(code(() => treeRoot(source, 600))).toBe('ERR_TLOG_TILE_INVALID');
  });

  it('bundles are uint16 big-endian lengths and bytes; a wrong count or size is ERR_TLOG_BUNDLE_INVALID', () => {
    const bundle = encodeEntryBundle(data.slice(0, 3));
    expect(bundle.length).toBe(3 * 34);
    expect([...bundle.subarray(0, 2)]).toEqual([0, 32]);
    expect(parseEntryBundle(bundle, 3, { entrySize: 32 }).map((e) => Buffer.from(e).toString('hex'))).toEqual(
      data.slice(0, 3).map((e) => Buffer.from(e).toString('hex')),
    );
    expect(code(() => parseEntryBundle(bundle, 2))).toBe('ERR_TLOG_BUNDLE_INVALID');
    expect(code(() => parseEntryBundle(bundle, 4))).toBe('ERR_TLOG_BUNDLE_INVALID');
    expect(code(() => parseEntryBundle(bundle.subarray(0, bundle.length - 1), 3))).toBe('ERR_TLOG_BUNDLE_INVALID');
    expect(code(() => parseEntryBundle(bundle.subarray(0, 35), 2))).toBe('ERR_TLOG_BUNDLE_INVALID');
    expect(code(() => parseEntryBundle(encodeEntryBundle([new Uint8Array(31)]), 1, { entrySize: 32 }))).toBe(
      'ERR_TLOG_BUNDLE_INVALID',
    );
    expect(code(() => encodeEntryBundle([new Uint8Array(0x10000)]))).toBe('ERR_OPTIONS_INVALID');
  });
});
