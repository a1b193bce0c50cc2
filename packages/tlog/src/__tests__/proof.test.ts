import { rejectionCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import {
  MAX_PROOF_HASHES,
  MerkleTree,
  TLOG_PROOF_HEADER,
  formatTlogProof,
  leafHash,
  noteVerifier,
  parseTlogProof,
  signCheckpoint,
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
