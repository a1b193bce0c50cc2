import { describe, expect, it } from 'vitest';
import { EMPTY_ROOT, MerkleTree, leafHash, nodeHash } from '../index.js';
import { entries } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** RFC 6962 MTH by its definition, with node:crypto's hashes. */
function mth(leaves: readonly Uint8Array[], lo: number, hi: number): Uint8Array {
  if (hi === lo) return EMPTY_ROOT;
  if (hi - lo === 1) return leafHash(leaves[lo]!);
  let k = 1;
  while (k * 2 < hi - lo) k *= 2;
  return nodeHash(mth(leaves, lo, lo + k), mth(leaves, lo + k, hi));
}

describe('MerkleTree kept in segments', () => {
  it('gives the RFC roots and the same hashes across segment boundaries and as its first segment grows', () => {
    // Past two full segments (32,768 hashes each) of the leaf level, and one of the level above.
    const data = entries(2 * 32768 + 37);
    const tree = new MerkleTree();
    const early: Uint8Array[] = [];
    for (const [i, e] of data.entries()) {
      tree.append(e);
      // A hash handed out before the level's buffer grows keeps its bytes; it is the caller's copy.
      if (i === 3) early.push(tree.hash(0, 3), tree.hash(1, 1));
    }
    expect(hex(early[0]!)).toBe(hex(leafHash(data[3]!)));
    early[0]!.fill(0);
    expect(hex(tree.hash(0, 3))).toBe(hex(leafHash(data[3]!)));
    expect(hex(early[1]!)).toBe(hex(nodeHash(leafHash(data[2]!), leafHash(data[3]!))));
    for (const n of [1, 2, 17, 32767, 32768, 32769, 65535, 65536, 65537, data.length]) {
      expect(hex(tree.root(n))).toBe(hex(mth(data, 0, n)));
    }
    expect(hex(tree.hash(0, 65540))).toBe(hex(leafHash(data[65540]!)));
    expect(hex(tree.hash(15, 1))).toBe(hex(mth(data, 32768, 65536)));
    // The same tree from leaf hashes, and from entries that are not 32 bytes.
    expect(hex(new MerkleTree(data.slice(0, 100).map((e) => leafHash(e))).root())).toBe(hex(mth(data, 0, 100)));
    const odd = [new Uint8Array(0), new Uint8Array(5).fill(9), ...data.slice(0, 3)];
    const mixed = new MerkleTree();
    for (const e of odd) mixed.append(e);
    expect(hex(mixed.root())).toBe(hex(mth(odd, 0, odd.length)));
  });

  it('refuses a subtree it does not hold', () => {
    const tree = new MerkleTree();
    for (const e of entries(5)) tree.append(e);
    for (const [level, index] of [
      [0, 5],
      [0, -1],
      [0, 1.5],
      [1, 2],
      [3, 0],
    ] as const) {
      expect(() => tree.hash(level, index)).toThrow(/no complete subtree/);
    }
  });
});
