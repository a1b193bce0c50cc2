import { isErstError } from '@erst/core';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MAX_PROOF_HASHES,
  MerkleTree,
  leafHash,
  nodeHash,
  verifyConsistency,
  InclusionMemo,
  verifyInclusion,
} from '../index.js';
import { trailingZeros } from '../merkle.js';
import { entries } from './helpers.js';

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

/** RFC 6962 section 2.1 MTH, written the way the RFC states it, to check the tree against. */
function mth(leaves: Uint8Array[]): Uint8Array {
  if (leaves.length === 0) return EMPTY_ROOT;
  if (leaves.length === 1) return leafHash(leaves[0]!);
  let k = 1;
  while (k * 2 < leaves.length) k *= 2;
  return nodeHash(mth(leaves.slice(0, k)), mth(leaves.slice(k)));
}

function code(f: () => unknown): string | undefined {
  try {
    f();
  } catch (e) {
    return isErstError(e) ? e.code : String(e);
  }
  return undefined;
}

describe('RFC 6962 Merkle tree', () => {
  const data = entries(70);
  const tree = new MerkleTree();
  for (const e of data) tree.append(e);

  it('roots match the RFC definition at every size', () => {
    // As bytes: a root is the tree's copy (a plain Uint8Array) or a fresh hash (a Buffer in Node).
    for (let n = 0; n <= data.length; n++) expect(hex(tree.root(n))).toBe(hex(mth(data.slice(0, n))));
  });

  it('the empty tree hashes to SHA-256 of nothing, and a leaf is SHA-256(0x00 || entry)', () => {
    expect(Buffer.from(EMPTY_ROOT).toString('hex')).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    expect(leafHash(new Uint8Array(0))).toEqual(
      Buffer.from('6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d', 'hex'),
    );
  });

  it('with a memo, every proof still stands or falls on each of its hashes', () => {
    for (let n = 1; n <= 40; n++) {
      const root = tree.root(n);
      const memo = new InclusionMemo();
      for (let i = 0; i < n; i++) verifyInclusion(leafHash(data[i]!), i, n, tree.inclusionProof(i, n), root, memo);
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i, n);
        // Every node of the tree is now authenticated: the shortcut is taken, and it still checks every hash.
        expect(() => verifyInclusion(leafHash(data[i]!), i, n, proof, root, memo)).not.toThrow();
        for (let j = 0; j < proof.length; j++) {
          const edited = proof.map((h, k) => (k === j ? h.map((b, at) => (at === 0 ? b ^ 1 : b)) : h));
          expect(code(() => verifyInclusion(leafHash(data[i]!), i, n, edited, root, memo))).toBe(
            'ERR_TLOG_INCLUSION_INVALID',
          );
        }
        if (n > 1) {
          const other = (i + 1) % n;
          expect(code(() => verifyInclusion(leafHash(data[other]!), i, n, proof, root, memo))).toBe(
            'ERR_TLOG_INCLUSION_INVALID',
          );
        }
        if (proof.length > 0) {
          expect(code(() => verifyInclusion(leafHash(data[i]!), i, n, proof.slice(1), root, memo))).toBe(
            'ERR_TLOG_INCLUSION_INVALID',
          );
        }
      }
      // A memo speaks for one tree only: that is what lets a proof stop at an authenticated node.
      if (n > 1) {
        const elsewhere = tree.root(n).map((b) => b ^ 0xff);
        expect(() =>
          verifyInclusion(leafHash(data[0]!), 0, n, tree.inclusionProof(0, n), elsewhere, memo),
        ).not.toThrow();
      }
    }
  });

  it('with a memo filled in any order, every proof, sound or spoiled, verifies or fails exactly as without', () => {
    const outcome = (f: () => void) => {
      try {
        f();
        return 'ok';
      } catch (e) {
        return code(() => {
          throw e;
        });
      }
    };
    let seed = 7;
    const random = () => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed / 2147483648;
    };
    let stopped = 0;
    for (let n = 1; n <= 70; n++) {
      const root = tree.root(n);
      const indices = [...Array(n).keys()];
      const orders = [indices, [...indices].reverse(), [...indices].sort(() => random() - 0.5)];
      for (const order of orders) {
        const memo = new InclusionMemo();
        for (const i of order) {
          const proof = tree.inclusionProof(i, n);
          const other = (i + 1) % n;
          const tries: [Uint8Array, number, Uint8Array[]][] = [
            [leafHash(data[other]!), i, proof],
            [leafHash(data[i]!), other, proof],
            [leafHash(data[i]!), i, proof.slice(1)],
            [leafHash(data[i]!), i, [...proof, proof[0] ?? root]],
            [leafHash(data[i]!), i, proof.map((h, k) => (k === proof.length - 1 ? h.map((b) => b ^ 1) : h))],
            [leafHash(data[i]!), i, [...proof].reverse()],
            [leafHash(data[i]!), i, n > 1 ? tree.inclusionProof(other, n) : proof],
            [leafHash(data[i]!), i, proof],
          ];
          for (const [leaf, at, p] of tries) {
            const alone = outcome(() => verifyInclusion(leaf, at, n, p, root));
            expect(outcome(() => verifyInclusion(leaf, at, n, p, root, memo))).toBe(alone);
          }
        }
        // Index binding, with the memo full: any entry's leaf at any index, with that index's proof or the entry's.
        if (n <= 24) {
          for (let i = 0; i < n; i++) {
            for (let j = 0; j < n; j++) {
              for (const p of [tree.inclusionProof(i, n), tree.inclusionProof(j, n)]) {
                const alone = outcome(() => verifyInclusion(leafHash(data[j]!), i, n, p, root));
                expect(alone).toBe(i === j ? 'ok' : 'ERR_TLOG_INCLUSION_INVALID');
                expect(outcome(() => verifyInclusion(leafHash(data[j]!), i, n, p, root, memo))).toBe(alone);
              }
            }
          }
        }
        // Once every entry verified, a proof is a lookup: count the walks that stop at once (leaf = memo node).
        for (const i of order) {
          const leaf = leafHash(data[i]!);
          if (memo.node(0, i) !== undefined && Buffer.from(memo.node(0, i)!).equals(leaf)) stopped++;
        }
      }
    }
    // The proof hashes are remembered as nodes too: every leaf is known, not only those walked from (but the one
    // leaf of a tree of size 1, which is its root: no walk).
    expect(stopped).toBe(3 * ((70 * 71) / 2 - 1));
  });

  it('every inclusion proof verifies, and fails for another index, leaf, size or root', () => {
    for (let n = 1; n <= 40; n++) {
      const root = tree.root(n);
      for (let i = 0; i < n; i++) {
        const proof = tree.inclusionProof(i, n);
        expect(() => verifyInclusion(leafHash(data[i]!), i, n, proof, root)).not.toThrow();
        if (n > 1) {
          const other = (i + 1) % n;
          expect(code(() => verifyInclusion(leafHash(data[i]!), other, n, proof, root))).toBe(
            'ERR_TLOG_INCLUSION_INVALID',
          );
          expect(code(() => verifyInclusion(leafHash(data[other]!), i, n, proof, root))).toBe(
            'ERR_TLOG_INCLUSION_INVALID',
          );
        }
        expect(code(() => verifyInclusion(leafHash(data[i]!), i, n + 1, proof, tree.root(n + 1)))).toBe(
          'ERR_TLOG_INCLUSION_INVALID',
        );
      }
    }
  });

  it('every consistency proof verifies, and a changed old root or a rewritten tree fails', () => {
    const rewritten = new MerkleTree(data.map((e, i) => leafHash(i === 3 ? new Uint8Array(32) : e)));
    for (let n = 1; n <= 40; n++) {
      for (let m = 0; m <= n; m++) {
        const proof = tree.consistencyProof(m, n);
        expect(() => verifyConsistency(m, n, proof, tree.root(m), tree.root(n))).not.toThrow();
        if (m > 3) {
          // The old tree held entry 3 as it was; the new one was rebuilt with entry 3 changed.
          const forged = rewritten.consistencyProof(m, n);
          expect(code(() => verifyConsistency(m, n, forged, tree.root(m), rewritten.root(n)))).toBe(
            'ERR_TLOG_CONSISTENCY_INVALID',
          );
        }
      }
    }
    expect(code(() => verifyConsistency(5, 4, [], tree.root(5), tree.root(4)))).toBe('ERR_TLOG_CONSISTENCY_INVALID');
    expect(code(() => verifyConsistency(4, 4, [], tree.root(4), tree.root(5)))).toBe('ERR_TLOG_CONSISTENCY_INVALID');
  });

  it(`refuses proofs over ${MAX_PROOF_HASHES} hashes or with hashes not 32 bytes`, () => {
    const long = Array.from({ length: MAX_PROOF_HASHES + 1 }, () => new Uint8Array(32));
    expect(code(() => verifyInclusion(leafHash(data[0]!), 0, 2 ** 52, long, tree.root()))).toBe(
      'ERR_TLOG_INCLUSION_INVALID',
    );
    expect(code(() => verifyConsistency(1, 2, [new Uint8Array(31)], tree.root(1), tree.root(2)))).toBe(
      'ERR_TLOG_CONSISTENCY_INVALID',
    );
  });

  it('proofs for sizes past 2^32 use arithmetic, not 32-bit operators', () => {
    // Index and size past 2^32 walk the same path as their low bits would with 32-bit operators, which is wrong.
    const leaf = leafHash(data[0]!);
    const size = 2 ** 33 + 1;
    const sibling = new Uint8Array(32).fill(9);
    const path = [sibling];
    // The last leaf of a tree of 2^33 + 1 is a right child of the root, whose left is the 2^33 subtree.
    expect(() => verifyInclusion(leaf, size - 1, size, path, nodeHash(sibling, leaf))).not.toThrow();
    // With a memo (positions past 2^32 are not array elements there): the same answers, the low bits never alias.
    const memo = new InclusionMemo();
    const root = nodeHash(sibling, leaf);
    verifyInclusion(leaf, size - 1, size, path, root, memo);
    expect(memo.node(0, size - 1)).toEqual(leaf);
    expect(memo.node(0, 2 ** 32)).toBeUndefined();
    expect(memo.node(0, 0)).toBeUndefined();
    expect(() => verifyInclusion(leaf, size - 1, size, path, root, memo)).not.toThrow();
    const other = leafHash(data[1]!);
    expect(code(() => verifyInclusion(other, size - 1, size, path, root, memo))).toBe('ERR_TLOG_INCLUSION_INVALID');
    expect(code(() => verifyInclusion(leaf, 1, size, path, root, memo))).toBe('ERR_TLOG_INCLUSION_INVALID');
  });

  it('refuses a leaf hash that is not 32 bytes and sizes beyond the tree', () => {
    expect(code(() => new MerkleTree().appendLeafHash(new Uint8Array(31)))).toBe('ERR_OPTIONS_INVALID');
    expect(code(() => tree.root(71))).toBe('ERR_OPTIONS_INVALID');
    expect(code(() => tree.inclusionProof(5, 5))).toBe('ERR_OPTIONS_INVALID');
  });
});

describe('trailingZeros (the right-edge climb of an inclusion walk)', () => {
  it('counts the halvings of every safe integer shape: each power of two, times odd factors, past 2^32', () => {
    const slow = (n: number) => {
      let z = 0;
      while (n % 2 === 0) {
        n /= 2;
        z++;
      }
      return z;
    };
    for (let e = 0; e <= 52; e++) {
      for (const odd of [1, 3, 5, 7, 255, 2 ** 20 + 1]) {
        const n = odd * 2 ** e;
        if (Number.isSafeInteger(n)) expect(trailingZeros(n), String(n)).toBe(slow(n));
      }
    }
    for (let n = 1; n <= 5000; n++) expect(trailingZeros(n)).toBe(slow(n));
    expect(trailingZeros(Number.MAX_SAFE_INTEGER)).toBe(0);
    expect(trailingZeros(2 ** 52)).toBe(52);
  });
});
