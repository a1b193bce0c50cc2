import { rejectionCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import {
  EMPTY_ROOT,
  MerkleTree,
  formatCheckpoint,
  noteVerifier,
  openCheckpoint,
  parseCheckpoint,
  signCheckpoint,
} from '../index.js';
import { ed25519Key, ed25519Signer, entries } from './helpers.js';

const code = rejectionCode;

const ORIGIN = 'erst.example/log';
const ROOT = 'CsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=';

describe('checkpoints', () => {
  it("formats and parses the spec's example", () => {
    const text = `example.com/behind-the-sofa\n20852163\n${ROOT}\n`;
    const cp = parseCheckpoint(text);
    expect(cp).toMatchObject({ origin: 'example.com/behind-the-sofa', size: 20852163, extensions: [] });
    expect(formatCheckpoint(cp)).toBe(text);
    expect(parseCheckpoint(`${text}ext one\n`).extensions).toEqual(['ext one']);
  });

  it('refuses leading zeros, bad roots, missing lines and empty extensions with their codes', async () => {
    for (const [text, want] of [
      [`o\n020\n${ROOT}\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n-1\n${ROOT}\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n9007199254740992\n${ROOT}\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n1\n${ROOT}`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n1\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`\n1\n${ROOT}\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n1\n${ROOT}\n\n`, 'ERR_CHECKPOINT_MALFORMED'],
      [`o\n1\n${ROOT.replace('2I=', '2J=')}\n`, 'ERR_TLOG_BASE64_NONCANONICAL'],
      [`o\n1\n${ROOT.slice(0, -1)}\n`, 'ERR_TLOG_BASE64_NONCANONICAL'],
      [`o\n1\nAAAA\n`, 'ERR_TLOG_BASE64_NONCANONICAL'],
    ] as const) {
      expect(await code(() => parseCheckpoint(text)), JSON.stringify(text)).toBe(want);
    }
  });

  it('opens a checkpoint signed by the log key, for its origin only', async () => {
    const tree = new MerkleTree();
    for (const e of entries(5)) tree.append(e);
    const signer = ed25519Signer(ORIGIN);
    const note = await signCheckpoint({ origin: ORIGIN, size: 5, root: tree.root(), extensions: [] }, [signer]);
    const verifier = noteVerifier(ORIGIN, ed25519Key(1).publicKey);
    const cp = openCheckpoint(note, verifier);
    expect(cp).toMatchObject({ origin: ORIGIN, size: 5, note });
    expect(Buffer.from(cp.root).equals(Buffer.from(tree.root()))).toBe(true);

    // Signed by another key under the same name: the log's key has not signed it.
    const forged = await signCheckpoint({ origin: ORIGIN, size: 5, root: tree.root(), extensions: [] }, [
      ed25519Signer(ORIGIN, 2),
    ]);
    expect(await code(() => openCheckpoint(forged, verifier))).toBe('ERR_NOTE_UNVERIFIED');

    // The log's key, but a checkpoint of another log.
    const elsewhere = await signCheckpoint({ origin: 'other.example', size: 0, root: EMPTY_ROOT, extensions: [] }, [
      signer,
    ]);
    expect(await code(() => openCheckpoint(elsewhere, verifier))).toBe('ERR_CHECKPOINT_ORIGIN_MISMATCH');
    expect(await code(() => openCheckpoint(note, verifier, { origin: 'other.example' }))).toBe(
      'ERR_CHECKPOINT_ORIGIN_MISMATCH',
    );
  });

  it('refuses to format what would not parse back', async () => {
    expect(await code(() => formatCheckpoint({ origin: 'a\nb', size: 0, root: EMPTY_ROOT, extensions: [] }))).toBe(
      'ERR_OPTIONS_INVALID',
    );
    expect(await code(() => formatCheckpoint({ origin: 'a', size: -1, root: EMPTY_ROOT, extensions: [] }))).toBe(
      'ERR_OPTIONS_INVALID',
    );
    expect(await code(() => formatCheckpoint({ origin: 'a', size: 0, root: EMPTY_ROOT, extensions: [''] }))).toBe(
      'ERR_OPTIONS_INVALID',
    );
  });
});
