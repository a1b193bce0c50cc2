import { bytesToHex, isErstError } from '@erst/core';
import { rejectionCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import {
  HashLineMemo,
  InclusionMemo,
  MAX_PROOF_HASHES,
  MerkleTree,
  TLOG_PROOF_HEADER,
  formatTlogProof,
  leafHash,
  noteVerifier,
  parseTlogProof,
  type TlogProof,
  signCheckpoint,
  verifyInclusion,
  verifyTlogProof,
} from '../index.js';
import { ed25519Key, ed25519Signer, entries } from './helpers.js';

const code = rejectionCode;

const ORIGIN = 'erst.example/log';
const data = entries(10);
const tree = new MerkleTree();
for (const e of data) tree.append(e);
const verifiers = noteVerifier(ORIGIN, ed25519Key(1).publicKey);
const checkpoint = await signCheckpoint({ origin: ORIGIN, size: 10, root: tree.root(), extensions: [] }, [
  ed25519Signer(ORIGIN),
]);

describe('tlog-proof', () => {
  it('formats as the spec says, parses back, and verifies offline', () => {
    const text = formatTlogProof({ index: 6, hashes: tree.inclusionProof(6), checkpoint });
    const lines = text.split('\n');
    expect(lines[0]).toBe(TLOG_PROOF_HEADER);
    expect(lines[1]).toBe('index 6');
    expect(text).toContain(`\n\n${checkpoint}`);
    expect(text.endsWith(checkpoint)).toBe(true);
    const parsed = parseTlogProof(text);
    expect(parsed.index).toBe(6);
    expect(parsed.checkpoint).toBe(checkpoint);
    expect(verifyTlogProof(text, { entry: data[6], verifiers, index: 6 })).toMatchObject({
      origin: ORIGIN,
      index: 6,
      size: 10,
    });
    expect(verifyTlogProof(text, { leafHash: leafHash(data[6]!), verifiers }).index).toBe(6);
  });

  it('carries an optional extra line, unauthenticated', () => {
    const extra = new Uint8Array([1, 2, 3]);
    const text = formatTlogProof({ extra, index: 0, hashes: tree.inclusionProof(0), checkpoint });
    expect(text.split('\n')[1]).toBe('extra AQID');
    const v = verifyTlogProof(text, { entry: data[0], verifiers });
    expect([...(v.extra ?? [])]).toEqual([1, 2, 3]);
  });

  it('a proof for another index, entry, key or origin fails with its own code', async () => {
    const text = formatTlogProof({ index: 6, hashes: tree.inclusionProof(6), checkpoint });
    expect(await code(() => verifyTlogProof(text, { entry: data[6], verifiers, index: 5 }))).toBe(
      'ERR_TLOG_PROOF_INDEX_MISMATCH',
    );
    expect(await code(() => verifyTlogProof(text, { entry: data[5], verifiers }))).toBe('ERR_TLOG_INCLUSION_INVALID');
    const relabelled = text.replace('index 6', 'index 7');
    expect(await code(() => verifyTlogProof(relabelled, { entry: data[6], verifiers }))).toBe(
      'ERR_TLOG_INCLUSION_INVALID',
    );
    expect(
      await code(() =>
        verifyTlogProof(text, { entry: data[6], verifiers: noteVerifier(ORIGIN, ed25519Key(2).publicKey) }),
      ),
    ).toBe('ERR_NOTE_UNVERIFIED');
    expect(await code(() => verifyTlogProof(text, { entry: data[6], verifiers, origin: 'x.example' }))).toBe(
      'ERR_CHECKPOINT_ORIGIN_MISMATCH',
    );
  });

  it('refuses malformed proofs', async () => {
    const good = formatTlogProof({ index: 6, hashes: tree.inclusionProof(6), checkpoint });
    const hash = Buffer.alloc(32).toString('base64');
    for (const [text, want] of [
      [good.replace(TLOG_PROOF_HEADER, 'c2sp.org/tlog-proof@v2'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6', 'index 06'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6', 'index'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('\n\n', '\n'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.slice(0, good.indexOf('\n\n') + 2), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6\n', 'index 6\nnot base64!\n'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6\n', 'index 6\nAAAA\n'), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6\n', `index 6\n${hash.replace('AA=', 'AB=')}\n`), 'ERR_TLOG_BASE64_NONCANONICAL'],
      [good.replace('index 6\n', `index 6\n${`${hash}\n`.repeat(MAX_PROOF_HASHES + 1)}`), 'ERR_TLOG_PROOF_MALFORMED'],
      [good.replace('index 6\n', `extra ${'A'.repeat(70_000)}\nindex 6\n`), 'ERR_TLOG_LINE_TOO_LONG'],
      [new Uint8Array([0xff, ...Buffer.from(good)]), 'ERR_TLOG_PROOF_MALFORMED'],
    ] as const) {
      expect(await code(() => parseTlogProof(text)), String(text).slice(0, 60)).toBe(want);
    }
  });
});

describe('HashLineMemo: proofs parsed one after another, lines shared', () => {
  /** What parseTlogProof makes of a text: the proof (bytes as hex) or the error's code and message. */
  function parsedWith(text: string, memo?: HashLineMemo): unknown {
    try {
      const p = parseTlogProof(text, memo);
      return { ...p, hashes: p.hashes.map((h) => bytesToHex(h)), extra: p.extra && bytesToHex(p.extra) };
    } catch (e) {
      if (!isErstError(e)) throw e;
      return `${e.code}: ${e.message}`;
    }
  }

  /** Whether the entry at `index` verifies under the proof, through `memo` or alone: true or the error. */
  function included(
    proof: TlogProof,
    entry: Uint8Array,
    size: number,
    root: Uint8Array,
    memo?: InclusionMemo,
  ): unknown {
    try {
      verifyInclusion(leafHash(entry), proof.index, size, proof.hashes, root, memo);
      return true;
    } catch (e) {
      if (!isErstError(e)) throw e;
      return `${e.code}: ${e.message}`;
    }
  }

  const big = new MerkleTree();
  const bigData = entries(300);
  for (const e of bigData) big.append(e);
  const texts = bigData.map((_, i) => formatTlogProof({ index: i, hashes: big.inclusionProof(i), checkpoint }));

  /** Each proof, then ways to spoil it that a shared line must not hide. */
  function variants(text: string, previous: string): string[] {
    const lines = text.split('\n');
    const hashAt = lines.findIndex((l) => l.length === 44);
    const last = lines.lastIndexOf('', lines.length - 1) - 1; // the last hash line (before the blank one)
    const flip = (l: string, at: number) => l.slice(0, at) + (l[at] === 'A' ? 'B' : 'A') + l.slice(at + 1);
    const out = [text];
    if (hashAt > 0) {
      const edit = (f: (l: string) => string, at = hashAt) => lines.map((l, i) => (i === at ? f(l) : l)).join('\n');
      out.push(
        edit((l) => flip(l, 0)), // another hash
        edit((l) => flip(l, 42)), // non-zero pad bits: not canonical
        edit((l) => `${l} `),
        edit((l) => l.replace('=', '')),
        edit((l) => flip(l, 5), last), // the top of the path: the line a next proof would share
        edit((l) => `${l}\n${l}`, last), // one line too many
        lines.filter((_, i) => i !== last).join('\n'), // one too few
        edit(() => previous.split('\n')[hashAt]!), // the previous proof's line where this one has its own
        `${text}\n`,
      );
    }
    return out;
  }

  it('parses every proof, sound or spoiled, as without it, whatever came before', () => {
    const memo = new HashLineMemo();
    let checked = 0;
    for (let i = 0; i < texts.length; i++) {
      for (const v of variants(texts[i]!, texts[i - 1] ?? texts[0]!)) {
        expect(parsedWith(v, memo)).toEqual(parsedWith(v));
        checked++;
      }
    }
    // Shared lines are reused across proofs of neighbouring entries, and of entries far apart (another path).
    for (const i of [0, 299, 150, 1, 298, 7, 7, 200])
      expect(parsedWith(texts[i]!, memo)).toEqual(parsedWith(texts[i]!));
    expect(checked).toBeGreaterThan(2500);
  });

  it('with an InclusionMemo too: every entry, and every spoiled proof, verifies or fails as alone', () => {
    const lines = new HashLineMemo();
    const memo = new InclusionMemo();
    const root = big.root();
    for (let i = 0; i < texts.length; i++) {
      for (const v of variants(texts[i]!, texts[i - 1] ?? texts[0]!)) {
        let proof: TlogProof;
        try {
          proof = parseTlogProof(v, lines);
        } catch {
          continue;
        }
        for (const entry of [bigData[i]!, bigData[(i + 1) % 300]!]) {
          expect(included(proof, entry, 300, root, memo)).toEqual(included(parseTlogProof(v), entry, 300, root));
        }
      }
      expect(included(parseTlogProof(texts[i]!, lines), bigData[i]!, 300, root, memo)).toBe(true);
    }
  });
});
