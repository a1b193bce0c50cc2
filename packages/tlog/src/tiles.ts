import { ErstError, concatBytes } from '@erst/core';
import { type HashSource, nodeHash } from './merkle.js';

/** C2SP tlog-tiles: tiles are 8 levels of the tree, 256 hashes (8,192 bytes) wide. */
export const TILE_HEIGHT = 8;
export const TILE_WIDTH = 256;
export const HASH_SIZE = 32;
/** An entry in a bundle is prefixed by a big-endian uint16 length. */
export const MAX_ENTRY_BYTES = 0xffff;

/** One tile: level 0-63, index within the level, width 1-256 (256 is a full tile). `level: 'entries'` is an entry bundle. */
export interface TileRef {
  readonly level: number | 'entries';
  readonly index: number;
  readonly width: number;
}

/** `<N>` as tlog-tiles encodes it: zero-padded 3-digit elements, all but the last prefixed `x` (1234067 -> x001/x234/067). */
export function encodeTileIndex(index: number): string {
  if (!Number.isSafeInteger(index) || index < 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`index` must be a non-negative safe integer', {
      details: { options: ['index'] },
    });
  }
  const parts: string[] = [];
  let n = index;
  do {
    parts.unshift(String(n % 1000).padStart(3, '0'));
    n = Math.floor(n / 1000);
  } while (n > 0);
  return parts.map((p, i) => (i < parts.length - 1 ? `x${p}` : p)).join('/');
}

/** The path of a tile or entry bundle under the log's prefix: `tile/<L>/<N>[.p/<W>]` or `tile/entries/<N>[.p/<W>]`. */
export function tilePath(tile: TileRef): string {
  if (!(tile.level === 'entries' || (Number.isInteger(tile.level) && tile.level >= 0 && tile.level <= 63))) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`level` must be 0 to 63 or "entries"', {
      details: { options: ['level'] },
    });
  }
  if (!Number.isInteger(tile.width) || tile.width < 1 || tile.width > TILE_WIDTH) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`width` must be 1 to 256', { details: { options: ['width'] } });
  }
  const partial = tile.width < TILE_WIDTH ? `.p/${tile.width}` : '';
  return `tile/${tile.level}/${encodeTileIndex(tile.index)}${partial}`;
}

/** 256^level, as a safe integer (levels whose span passes 2^53 hold no tile of a representable tree). */
function span(level: number): number {
  return TILE_WIDTH ** level;
}

/**
 * Every tile a tree of `size` leaves is made of, lowest level first: the
 * full tiles and, where the level has a remainder, its partial tile. With
 * `entries` (default true) the entry bundles (same indexes and widths as
 * level 0) come first. With `fromSize`, only the tiles a log growing from
 * that size must write (those that were partial or absent at `fromSize`).
 */
export function tilesForSize(size: number, options: { entries?: boolean; fromSize?: number } = {}): TileRef[] {
  const from = options.fromSize ?? 0;
  const out: TileRef[] = [];
  const levels: (number | 'entries')[] = options.entries === false ? [] : ['entries'];
  for (let l = 0; span(l) <= size; l++) levels.push(l);
  for (const level of levels) {
    const unit = span(level === 'entries' ? 0 : level);
    const count = Math.floor(size / unit);
    const oldCount = Math.floor(from / unit);
    // Tiles already complete at `fromSize` do not change; a partial tile of the old size may have grown.
    for (let n = Math.floor(oldCount / TILE_WIDTH); n * TILE_WIDTH < count; n++) {
      const width = Math.min(TILE_WIDTH, count - n * TILE_WIDTH);
      // A tile that already existed at `fromSize` (full, or partial of the same width) holds the same hashes.
      if (n * TILE_WIDTH + width <= oldCount) continue;
      out.push({ level, index: n, width });
    }
  }
  return out;
}

/** The bytes of a Merkle tile: its `width` hashes, from `source` (which must hold the tree at least that far). */
export function tileData(source: HashSource, level: number, index: number, width: number): Uint8Array {
  const hashes: Uint8Array[] = [];
  for (let i = 0; i < width; i++) hashes.push(source.hash(level * TILE_HEIGHT, index * TILE_WIDTH + i));
  return concatBytes(...hashes);
}

/** The hashes of a tile, checking it is exactly `width` hashes long. */
export function parseTile(data: Uint8Array, width: number, path?: string): Uint8Array[] {
  if (data.length !== width * HASH_SIZE) {
    throw new ErstError(
      'ERR_TLOG_TILE_INVALID',
      `tile ${path ?? ''} is ${data.length} bytes, not ${width * HASH_SIZE} (${width} hashes)`.replace('  ', ' '),
      { details: { path, length: data.length, expected: width * HASH_SIZE } },
    );
  }
  const out: Uint8Array[] = [];
  for (let i = 0; i < width; i++) out.push(data.subarray(i * HASH_SIZE, (i + 1) * HASH_SIZE));
  return out;
}

/** An entry bundle: each entry as a big-endian uint16 length and its bytes. */
export function encodeEntryBundle(entries: readonly Uint8Array[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const e of entries) {
    if (e.length > MAX_ENTRY_BYTES) {
      throw new ErstError('ERR_OPTIONS_INVALID', `an entry is at most ${MAX_ENTRY_BYTES} bytes`, {
        details: { options: ['entries'] },
      });
    }
    parts.push(new Uint8Array([e.length >> 8, e.length & 0xff]), e);
  }
  return concatBytes(...parts);
}

/**
 * The entries of a bundle, which must hold exactly `width` entries and
 * nothing after them; with `entrySize`, each entry must be that long.
 */
export function parseEntryBundle(
  data: Uint8Array,
  width: number,
  options: { entrySize?: number; path?: string } = {},
): Uint8Array[] {
  const fail = (why: string) =>
    new ErstError('ERR_TLOG_BUNDLE_INVALID', `entry bundle ${options.path ?? ''}: ${why}`.replace('  ', ' '), {
      details: { path: options.path, width },
    });
  const out: Uint8Array[] = [];
  let at = 0;
  while (at < data.length) {
    if (out.length === width) throw fail(`more than ${width} entries`);
    if (at + 2 > data.length) throw fail('truncated length prefix');
    const len = (data[at]! << 8) | data[at + 1]!;
    at += 2;
    if (at + len > data.length) throw fail('truncated entry');
    if (options.entrySize !== undefined && len !== options.entrySize) {
      throw fail(`entry ${out.length} is ${len} bytes, not ${options.entrySize}`);
    }
    out.push(data.subarray(at, at + len));
    at += len;
  }
  if (out.length !== width) throw fail(`${out.length} entries, not ${width}`);
  return out;
}

/**
 * A `HashSource` over the tiles of a tree of `size` leaves: `readTile` gives
 * the bytes of the tile at (level, index, width), checked here for length.
 * Hashes between tile levels are rebuilt by hashing within a tile.
 */
export function tileHashSource(
  size: number,
  readTile: (level: number, index: number, width: number) => Uint8Array,
): HashSource {
  const cache = new Map<string, Uint8Array[]>();
  const tileHashes = (level: number, index: number): Uint8Array[] => {
    const count = Math.floor(size / span(level));
    const width = Math.min(TILE_WIDTH, count - index * TILE_WIDTH);
    const key = `${level}/${index}`;
    let hashes = cache.get(key);
    if (!hashes) {
      if (width < 1) throw new ErstError('ERR_TLOG_TILE_INVALID', `no tile ${level}/${index} in a tree of ${size}`);
      hashes = parseTile(readTile(level, index, width), width, tilePath({ level, index, width }));
      cache.set(key, hashes);
    }
    return hashes;
  };
  const hash = (level: number, index: number): Uint8Array => {
    const tileLevel = Math.floor(level / TILE_HEIGHT);
    const below = level - tileLevel * TILE_HEIGHT;
    const first = index * 2 ** below;
    const hashes = tileHashes(tileLevel, Math.floor(first / TILE_WIDTH));
    let row = hashes.slice(first % TILE_WIDTH, (first % TILE_WIDTH) + 2 ** below);
    if (row.length !== 2 ** below) throw new ErstError('ERR_TLOG_TILE_INVALID', `tile too narrow for level ${level}`);
    while (row.length > 1) {
      const up: Uint8Array[] = [];
      for (let i = 0; i < row.length; i += 2) up.push(nodeHash(row[i]!, row[i + 1]!));
      row = up;
    }
    return row[0]!;
  };
  return { hash };
}
