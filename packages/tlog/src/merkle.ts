import { ErstError, concatBytes, equalBytes, sha256 } from '@erst/core';
import { MAX_PROOF_HASHES } from './limits.js';

/** RFC 6962 Merkle Tree Hashing with SHA-256. Hashes are 32-byte Uint8Arrays. */

const LEAF_PREFIX = new Uint8Array([0]);

/** The root of the empty tree: SHA-256 of nothing. */
export const EMPTY_ROOT: Uint8Array = sha256(new Uint8Array(0));

// Hashing is synchronous and copies its input: one buffer serves every leaf of
// a 32-byte entry and every node, where a fresh one each was most of a log
// read's garbage (two per entry).
const LEAF_INPUT = new Uint8Array(33);
const NODE_INPUT = new Uint8Array(65);
NODE_INPUT[0] = 1;

/** RFC 6962 leaf hash: SHA-256(0x00 || entry). */
export function leafHash(entry: Uint8Array): Uint8Array {
  if (entry.length !== 32) return sha256(concatBytes(LEAF_PREFIX, entry));
  LEAF_INPUT.set(entry, 1);
  return sha256(LEAF_INPUT);
}

/** RFC 6962 interior node hash: SHA-256(0x01 || left || right). */
export function nodeHash(left: Uint8Array, right: Uint8Array): Uint8Array {
  if (left.length !== 32 || right.length !== 32) {
    return sha256(concatBytes(new Uint8Array([1]), left, right));
  }
  NODE_INPUT.set(left, 1);
  NODE_INPUT.set(right, 33);
  return sha256(NODE_INPUT);
}

/**
 * Where hashes of complete subtrees come from: `hash(level, index)` is the
 * Merkle Tree Hash of leaves [index * 2^level, (index + 1) * 2^level). A
 * `MerkleTree` in memory and a set of tiles (`tileHashSource`) are both one.
 */
export interface HashSource {
  hash(level: number, index: number): Uint8Array;
}

/** The largest power of two strictly less than n (n >= 2). Arithmetic, not bit operators: sizes pass 2^32. */
function splitPoint(n: number): number {
  let k = 1;
  while (k * 2 < n) k *= 2;
  return k;
}

function log2Exact(n: number): number | undefined {
  let level = 0;
  let k = 1;
  while (k < n) {
    k *= 2;
    level++;
  }
  return k === n ? level : undefined;
}

/** MTH(D[lo:hi]) for a range RFC 6962's decomposition produces (lo aligned to every power-of-two prefix). */
export function rangeHash(source: HashSource, lo: number, hi: number): Uint8Array {
  const n = hi - lo;
  if (n <= 0) return EMPTY_ROOT;
  const level = log2Exact(n);
  if (level !== undefined && lo % n === 0) return source.hash(level, lo / n);
  const k = splitPoint(n);
  return nodeHash(rangeHash(source, lo, lo + k), rangeHash(source, lo + k, hi));
}

/** The root hash of the tree of the first `size` leaves. */
export function treeRoot(source: HashSource, size: number): Uint8Array {
  return rangeHash(source, 0, size);
}

function checkSize(size: number, what: string): void {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`${what}\` must be a non-negative safe integer`, {
      details: { options: [what] },
    });
  }
}

/** An RFC 6962 inclusion proof (PATH) for leaf `index` in the tree of `size` leaves. */
export function inclusionProof(source: HashSource, index: number, size: number): Uint8Array[] {
  checkSize(size, 'size');
  checkSize(index, 'index');
  if (index >= size) {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`index\` ${index} is not below \`size\` ${size}`, {
      details: { options: ['index', 'size'] },
    });
  }
  return inclusionPath(index, size, (lo, hi) => rangeHash(source, lo, hi));
}

/**
 * The RFC 6962 inclusion path (PATH) of leaf `index` in the tree of `size`
 * leaves (0 <= index < size, unchecked), as `node(lo, hi)` gives each of its
 * nodes, the Merkle Tree Hash of leaves [lo, hi) in whatever form the caller
 * wants (bytes, base64 text): listed from the leaf's sibling up.
 */
export function inclusionPath<T>(index: number, size: number, node: (lo: number, hi: number) => T): T[] {
  const path: T[] = [];
  let lo = 0;
  let hi = size;
  // Top-down, then reversed.
  while (hi - lo > 1) {
    const k = splitPoint(hi - lo);
    if (index < lo + k) {
      path.push(node(lo + k, hi));
      hi = lo + k;
    } else {
      path.push(node(lo, lo + k));
      lo += k;
    }
  }
  return path.reverse();
}

/** An RFC 6962 consistency proof from the tree of `oldSize` leaves to the tree of `newSize`. */
export function consistencyProof(source: HashSource, oldSize: number, newSize: number): Uint8Array[] {
  checkSize(oldSize, 'oldSize');
  checkSize(newSize, 'newSize');
  if (oldSize > newSize) {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`oldSize\` ${oldSize} is above \`newSize\` ${newSize}`, {
      details: { options: ['oldSize', 'newSize'] },
    });
  }
  if (oldSize === 0 || oldSize === newSize) return [];
  const proof: Uint8Array[] = [];
  let lo = 0;
  let hi = newSize;
  let m = oldSize;
  let complete = true;
  // SUBPROOF(m, D[lo:hi], complete), unrolled top-down then reversed.
  while (m !== hi - lo) {
    const k = splitPoint(hi - lo);
    if (m <= k) {
      proof.push(rangeHash(source, lo + k, hi));
      hi = lo + k;
    } else {
      proof.push(rangeHash(source, lo, lo + k));
      lo += k;
      m -= k;
      complete = false;
    }
  }
  if (!complete) proof.push(rangeHash(source, lo, hi));
  return proof.reverse();
}

function checkProofShape(
  proof: readonly Uint8Array[],
  code: 'ERR_TLOG_INCLUSION_INVALID' | 'ERR_TLOG_CONSISTENCY_INVALID',
) {
  if (proof.length > MAX_PROOF_HASHES || proof.some((h) => !(h instanceof Uint8Array) || h.length !== 32)) {
    throw new ErstError(code, `a proof is at most ${MAX_PROOF_HASHES} hashes of 32 bytes`);
  }
}

const half = (n: number) => Math.floor(n / 2);
const odd = (n: number) => n % 2 === 1;

/**
 * The trailing zero bits of a safe non-zero integer (how many times it
 * halves exactly); for 0, a number that means nothing. Exported for the
 * tests. Both 32-bit halves are worked out every time (see verifyInclusion).
 */
export function trailingZeros(n: number): number {
  const low = n % 0x1_0000_0000;
  const high = (n - low) / 0x1_0000_0000;
  // x & -x keeps the lowest set bit of x's 32 bits (in two's complement, which & works in).
  const inLow = 31 - Math.clz32(low & -low);
  const inHigh = 63 - Math.clz32(high & -high);
  return low !== 0 ? inLow : inHigh;
}

/**
 * Nodes of one tree (one checkpoint: one size, one root) that earlier
 * inclusion proofs authenticated, by position (level, index): the node a
 * walk reached, and the proof hash beside it. Records of one batch share a
 * checkpoint and mostly neighbours, so with a memo a proof costs one or two
 * hashes and a few comparisons instead of one hash per level, and every hash
 * in it is still checked: a proof whose walk meets an authenticated node only
 * passes if each of its remaining hashes is the authenticated one at that
 * position, which is exactly when the full walk would reach the root.
 * Bounded: cleared when it reaches `limit` nodes.
 */
export class InclusionMemo {
  // One slot a level, made up front: an array that gained its slots out of order would change shape under the
  // optimized code (a deopt), as each level's arrays would (see MemoLevel).
  readonly #levels: (MemoLevel | undefined)[] = Array.from({ length: MAX_PROOF_HASHES + 1 }, () => undefined);
  readonly #limit: number;
  #size = 0;

  constructor(limit = 1 << 18) {
    this.#limit = limit;
  }

  /** The authenticated node at (level, index), if any: one a walk reached, or a proof hash beside one. */
  node(level: number, index: number): Uint8Array | undefined {
    const l = this.#levels[level];
    if (l === undefined) return undefined;
    const i = index - l.base;
    return i >= 0 && i < l.nodes.length ? l.nodes[i] : undefined;
  }

  /** The authenticated proof hash beside the node at (level, index), if any. */
  sibling(level: number, index: number): Uint8Array | undefined {
    const l = this.#levels[level];
    if (l === undefined) return undefined;
    const i = index - l.base;
    return i >= 0 && i < l.siblings.length ? l.siblings[i] : undefined;
  }

  /** Records an authenticated node and the proof hash beside it. */
  set(level: number, index: number, node: Uint8Array, sibling: Uint8Array): void {
    if (this.#size >= this.#limit) {
      this.#levels.fill(undefined);
      this.#size = 0;
    }
    let l = this.#levels[level];
    // A level starts a little before the first index stored there (the node left of it comes often), and grows down
    // for an index before it; an index more than MAX_SPAN away starts it again there (it only remembers less).
    if (l === undefined || index < l.base - MAX_SPAN || index - l.base > l.nodes.length + MAX_SPAN) {
      l = { base: Math.max(0, index - MAX_GAP), nodes: [], siblings: [] };
      this.#levels[level] = l;
    } else if (index < l.base) {
      const pad = new Array<undefined>(l.base - Math.max(0, index - MAX_GAP)).fill(undefined);
      l.nodes = [...pad, ...l.nodes];
      l.siblings = [...pad, ...l.siblings];
      l.base -= pad.length;
    }
    const i = index - l.base;
    if (l.nodes[i] === undefined) this.#size += 2;
    // Filled up to i first: an array written past its end is holey, and one written far past it a dictionary.
    while (l.nodes.length < i) {
      l.nodes.push(undefined);
      l.siblings.push(undefined);
    }
    l.nodes[i] = node;
    l.siblings[i] = sibling;
  }
}

/** How far before its first index a memo level starts; how far outside it an index may land before it starts again. */
const MAX_GAP = 64;
const MAX_SPAN = 1 << 16;

/**
 * One level of an InclusionMemo: node and proof hash by index from `base`.
 * A batch's entries are consecutive, so from `base` on the arrays stay dense,
 * and a lookup or a store is an element access (Maps were most of what
 * remembering cost). Indexed from 0 they were not: an array first written at
 * index 10,000 (a batch that starts there) becomes a dictionary, slower, whose
 * shape changed under the optimized code as it filled (measured: V8 threw
 * away the walk's code for it).
 */
interface MemoLevel {
  base: number;
  nodes: (Uint8Array | undefined)[];
  siblings: (Uint8Array | undefined)[];
}

// One walk's shape, in scratch space (verifyInclusion is synchronous and checks the proof's length first): a batch
// verifies a proof per record, and four arrays and a closure each were most of what a memoized proof cost.
const LEVELS = new Int32Array(MAX_PROOF_HASHES);
/** Float64: an index is a safe integer, past 2^32 for a large enough tree. */
const INDICES = new Float64Array(MAX_PROOF_HASHES);
const ON_LEFT = new Uint8Array(MAX_PROOF_HASHES);
/** Where each step's proof hash sits in the tree (level, index): the node beside the walk's, on the side it goes. */
const SIBLING_LEVELS = new Int32Array(MAX_PROOF_HASHES);
const SIBLING_INDICES = new Float64Array(MAX_PROOF_HASHES);
/** The nodes a walk went through before meeting an authenticated one; emptied after each walk. */
const WALKED: Uint8Array[] = [];

function inclusionFailure(index: number, size: number, why: string): ErstError {
  return new ErstError('ERR_TLOG_INCLUSION_INVALID', `inclusion proof for index ${index} in size ${size}: ${why}`, {
    details: { index, size },
  });
}

/**
 * Checks an RFC 9162 (section 2.1.3.2) inclusion proof that `leaf` (a leaf
 * hash) is at `index` in the tree of `size` leaves whose root is `root`.
 * Throws ERR_TLOG_INCLUSION_INVALID when it is not. `memo`, when given, must
 * belong to this size and root only (see InclusionMemo).
 */
export function verifyInclusion(
  leaf: Uint8Array,
  index: number,
  size: number,
  proof: readonly Uint8Array[],
  root: Uint8Array,
  memo?: InclusionMemo,
): void {
  checkProofShape(proof, 'ERR_TLOG_INCLUSION_INVALID');
  if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) {
    throw inclusionFailure(index, size, 'index is not in the tree');
  }
  // The walk's shape first: where each step's node sits (level, index), and on which side its proof hash goes.
  let fn = index;
  let sn = size - 1;
  let level = 0;
  for (let k = 0; k < proof.length; k++) {
    if (sn === 0) throw inclusionFailure(index, size, 'proof is too long');
    LEVELS[k] = level;
    INDICES[k] = fn;
    const left = odd(fn) || fn === sn;
    ON_LEFT[k] = left ? 1 : 0;
    // A last node (fn === sn) that is a left child has no sibling at its level: the proof hash is beside its first
    // ancestor that is a right child (RFC 9162: "right-shift both until LSB(fn) is set or fn is 0"). Counted rather
    // than looped, and every operation run at every step: a loop taken only at a tree's right edge was code V8's
    // optimized walk had never seen, and threw it away once a thread.
    const zeros = trailingZeros(fn);
    const climb = left && !odd(fn) ? zeros : 0;
    const scale = 2 ** climb;
    fn /= scale;
    sn = Math.floor(sn / scale);
    level += climb;
    // On the left: the node before this one at the level the walk climbed to (where it is a right child); on the
    // right: the next one. -1 when there is none (fn reached 0: such a walk cannot reach the root).
    SIBLING_LEVELS[k] = level;
    SIBLING_INDICES[k] = left ? fn - 1 : fn + 1;
    fn = half(fn);
    sn = half(sn);
    level++;
  }
  if (sn !== 0) throw inclusionFailure(index, size, 'proof is too short');
  let r = leaf;
  try {
    for (let k = 0; k < proof.length; k++) {
      if (memo && knownFrom(memo, k, r, proof)) {
        remember(memo, proof);
        return;
      }
      WALKED.push(r);
      // One read and one call whichever side the proof hash goes (each side once had its own, and the side seldom
      // taken before V8 optimized the walk threw the code away when it came).
      const p = proof[k]!;
      const onLeft = ON_LEFT[k] === 1;
      r = nodeHash(onLeft ? p : r, onLeft ? r : p);
    }
    if (!equalBytes(r, root)) throw inclusionFailure(index, size, 'root hash does not match');
    if (memo) remember(memo, proof);
  } finally {
    WALKED.length = 0;
  }
}

/**
 * The nodes a proof that just verified walked through, and the proof hashes beside them, are authenticated. So is
 * each proof hash as a node at its own position, with the walk's node beside it: a walk that reaches that position
 * (a neighbouring entry's, next) consumes exactly that node there, then goes on to the same parent, so it can stop
 * there instead of one level higher (a hash less a record in a batch). Every position names one node of this tree
 * (the Merkle Tree Hash of its leaves, the last subtree cut at the tree's size), whichever walk records it.
 */
function remember(memo: InclusionMemo, proof: readonly Uint8Array[]): void {
  for (let k = 0; k < WALKED.length; k++) {
    memo.set(LEVELS[k]!, INDICES[k]!, WALKED[k]!, proof[k]!);
    if (SIBLING_INDICES[k]! >= 0) memo.set(SIBLING_LEVELS[k]!, SIBLING_INDICES[k]!, proof[k]!, WALKED[k]!);
  }
}

/** Whether the walk, at step `k` with node `r`, meets an authenticated node and then only authenticated proof hashes. */
function knownFrom(memo: InclusionMemo, k: number, r: Uint8Array, proof: readonly Uint8Array[]): boolean {
  const node = memo.node(LEVELS[k]!, INDICES[k]!);
  if (!node || !equalBytes(node, r)) return false;
  for (let j = k; j < proof.length; j++) {
    const sibling = memo.sibling(LEVELS[j]!, INDICES[j]!);
    // The same object (a HashLineMemo shares a repeated line's bytes between proofs) is the same bytes.
    if (!sibling || (sibling !== proof[j] && !equalBytes(sibling, proof[j]!))) return false;
  }
  return true;
}

/**
 * Checks an RFC 9162 (section 2.1.4.2) consistency proof that the tree of
 * `oldSize` leaves with root `oldRoot` is a prefix of the tree of `newSize`
 * leaves with root `newRoot`. Throws ERR_TLOG_CONSISTENCY_INVALID when not:
 * the log was rewritten or rolled back.
 */
export function verifyConsistency(
  oldSize: number,
  newSize: number,
  proof: readonly Uint8Array[],
  oldRoot: Uint8Array,
  newRoot: Uint8Array,
): void {
  checkProofShape(proof, 'ERR_TLOG_CONSISTENCY_INVALID');
  const fail = (why: string) =>
    new ErstError('ERR_TLOG_CONSISTENCY_INVALID', `consistency from size ${oldSize} to ${newSize}: ${why}`, {
      details: { oldSize, newSize },
    });
  if (!Number.isSafeInteger(oldSize) || !Number.isSafeInteger(newSize) || oldSize < 0 || oldSize > newSize) {
    throw fail('the new tree is smaller than the old');
  }
  if (oldSize === newSize) {
    if (proof.length !== 0) throw fail('proof must be empty for equal sizes');
    if (!equalBytes(oldRoot, newRoot)) throw fail('same size, different roots');
    return;
  }
  if (oldSize === 0) {
    // Every tree extends the empty one; RFC 9162 has no proof for it.
    if (proof.length !== 0) throw fail('proof must be empty from size 0');
    if (!equalBytes(oldRoot, EMPTY_ROOT)) throw fail('the old root is not the empty tree');
    return;
  }
  const path = [...proof];
  if (log2Exact(oldSize) !== undefined) path.unshift(oldRoot);
  if (path.length === 0) throw fail('proof is empty');
  let fn = oldSize - 1;
  let sn = newSize - 1;
  while (odd(fn)) {
    fn = half(fn);
    sn = half(sn);
  }
  let fr = path[0]!;
  let sr = path[0]!;
  for (const c of path.slice(1)) {
    if (sn === 0) throw fail('proof is too long');
    if (odd(fn) || fn === sn) {
      fr = nodeHash(c, fr);
      sr = nodeHash(c, sr);
      if (!odd(fn)) {
        while (!odd(fn) && fn !== 0) {
          fn = half(fn);
          sn = half(sn);
        }
      }
    } else {
      sr = nodeHash(sr, c);
    }
    fn = half(fn);
    sn = half(sn);
  }
  if (sn !== 0) throw fail('proof is too short');
  if (!equalBytes(fr, oldRoot)) throw fail('old root does not match');
  if (!equalBytes(sr, newRoot)) throw fail('new root does not match');
}

/** Hashes per segment of a level (1 MiB): a level grows by segments, never copied whole, never one huge buffer. */
const SEGMENT_HASHES = 1 << 15;
/** A level's first segment starts this small and doubles up to a full segment: a small tree stays small. */
const FIRST_SEGMENT_HASHES = 16;

/**
 * A Merkle tree held in memory: every complete subtree hash, so that roots
 * and proofs for any size up to `size` cost O(log^2 n) hashes. Appending is
 * amortised one node hash per leaf.
 *
 * Each level's hashes sit side by side in a few large buffers rather than
 * one 32-byte array per node: those were two long-lived objects per entry,
 * which every young generation collection of a log read had to copy (most of
 * its garbage collection time). A hash is copied in as it is made (the
 * native hash's own result dies young) and out as it is asked for.
 */
export class MerkleTree implements HashSource {
  /** Level l's segments: hash i of the level is at segment floor(i / SEGMENT_HASHES). */
  readonly #levels: Uint8Array[][] = [];
  /** How many hashes each level holds. */
  readonly #counts: number[] = [];

  /** A tree of these leaf hashes (not entries: hash entries with `leafHash`). */
  constructor(leafHashes: Iterable<Uint8Array> = []) {
    for (const h of leafHashes) this.appendLeafHash(h);
  }

  get size(): number {
    return this.#counts[0] ?? 0;
  }

  /** Appends an entry (hashed with `leafHash`); returns its index. */
  append(entry: Uint8Array): number {
    return this.appendLeafHash(leafHash(entry));
  }

  appendLeafHash(hash: Uint8Array): number {
    if (!(hash instanceof Uint8Array) || hash.length !== 32) {
      throw new ErstError('ERR_OPTIONS_INVALID', '`leafHash` must be a 32-byte Uint8Array', {
        details: { options: ['leafHash'] },
      });
    }
    const index = this.#add(0);
    this.#segment(0, index).set(hash, offsetOf(index));
    this.#climb(index);
    return index;
  }

  /** Makes room for one more hash at `level` and returns its index there. */
  #add(level: number): number {
    const index = this.#counts[level] ?? 0;
    let segments = this.#levels[level];
    if (!segments) {
      segments = this.#levels[level] = [];
      this.#counts[level] = 0;
    }
    const s = Math.floor(index / SEGMENT_HASHES);
    const within = index - s * SEGMENT_HASHES;
    if (s === segments.length) {
      segments.push(new Uint8Array((s === 0 ? FIRST_SEGMENT_HASHES : SEGMENT_HASHES) * 32));
    } else if (within * 32 === segments[s]!.length) {
      // Only a level's first segment is ever short: double it (up to a full one).
      const grown = new Uint8Array(Math.min(SEGMENT_HASHES, within * 2) * 32);
      grown.set(segments[s]!);
      segments[s] = grown;
    }
    this.#counts[level] = index + 1;
    return index;
  }

  #segment(level: number, index: number): Uint8Array {
    return this.#levels[level]![Math.floor(index / SEGMENT_HASHES)]!;
  }

  /** The node hashes a new leaf at `index` completes, level by level. */
  #climb(index: number): void {
    let level = 0;
    let i = index;
    while (odd(i)) {
      const up = this.#add(level + 1);
      this.#segment(level + 1, up).set(nodeHash(this.#view(level, i - 1), this.#view(level, i)), offsetOf(up));
      level++;
      i = half(i);
    }
  }

  /** The hash of the complete subtree at (level, index): a copy, the caller's to keep. */
  hash(level: number, index: number): Uint8Array {
    if (!Number.isSafeInteger(index) || index < 0 || index >= (this.#counts[level] ?? 0)) {
      throw new ErstError('ERR_INTERNAL', `no complete subtree at level ${level} index ${index}`);
    }
    return this.#view(level, index).slice();
  }

  /** Hash `index` of `level`, in place. */
  #view(level: number, index: number): Uint8Array {
    const at = offsetOf(index);
    return this.#segment(level, index).subarray(at, at + 32);
  }

  /** The root of the first `size` leaves (default: all). */
  root(size = this.size): Uint8Array {
    this.#checkSize(size);
    return treeRoot(this, size);
  }

  inclusionProof(index: number, size = this.size): Uint8Array[] {
    this.#checkSize(size);
    return inclusionProof(this, index, size);
  }

  consistencyProof(oldSize: number, newSize = this.size): Uint8Array[] {
    this.#checkSize(newSize);
    return consistencyProof(this, oldSize, newSize);
  }

  #checkSize(size: number): void {
    checkSize(size, 'size');
    if (size > this.size) {
      throw new ErstError('ERR_OPTIONS_INVALID', `\`size\` ${size} is beyond the tree's ${this.size} leaves`, {
        details: { options: ['size'] },
      });
    }
  }
}

/** Where hash `index` of a level starts in its segment. */
function offsetOf(index: number): number {
  return (index % SEGMENT_HASHES) * 32;
}
