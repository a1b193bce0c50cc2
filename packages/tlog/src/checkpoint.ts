import { ErstError, bytesToBase64 } from '@erst/core';
import type { NoteSigner, NoteVerifier } from './keys.js';
import { MAX_CHECKPOINT_EXTENSIONS, MAX_TREE_SIZE } from './limits.js';
import { type NoteSignature, openNote, signNote } from './note.js';
import { decodeBase64, parseDecimal, splitLines } from './text.js';

/** A C2SP tlog-checkpoint: the note text of a log's signed tree head. */
export interface Checkpoint {
  readonly origin: string;
  readonly size: number;
  /** The RFC 6962 root hash, 32 bytes. */
  readonly root: Uint8Array;
  /** Extension lines after the root, opaque (and NOT RECOMMENDED by the spec). */
  readonly extensions: readonly string[];
}

/** A checkpoint whose signature by the log's key has been verified. */
export interface SignedCheckpoint extends Checkpoint {
  /** The whole signed note, byte for byte as read (or written). */
  readonly note: string;
  /** The note text that was signed. */
  readonly text: string;
  readonly verified: readonly NoteSignature[];
}

/** `<origin>\n<size>\n<base64 root>\n[extension lines]`. */
export function formatCheckpoint(checkpoint: Checkpoint): string {
  const { origin, size, root, extensions } = checkpoint;
  if (typeof origin !== 'string' || origin === '' || origin.includes('\n')) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`origin` must be one non-empty line', {
      details: { options: ['origin'] },
    });
  }
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`size` must be a non-negative safe integer', {
      details: { options: ['size'] },
    });
  }
  if (!(root instanceof Uint8Array) || root.length !== 32) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`root` must be 32 bytes', { details: { options: ['root'] } });
  }
  for (const e of extensions) {
    if (e === '' || e.includes('\n')) {
      throw new ErstError('ERR_OPTIONS_INVALID', '`extensions` must be non-empty single lines', {
        details: { options: ['extensions'] },
      });
    }
  }
  return [origin, String(size), bytesToBase64(root), ...extensions].map((l) => `${l}\n`).join('');
}

/**
 * Parses checkpoint note text: at least three lines, a non-empty origin, a
 * size in decimal without leading zeros (a safe integer), the root in
 * canonical base64 of 32 bytes, then non-empty extension lines.
 * Throws ERR_CHECKPOINT_MALFORMED (or ERR_TLOG_BASE64_NONCANONICAL, ERR_TLOG_LINE_TOO_LONG).
 */
export function parseCheckpoint(text: string): Checkpoint {
  const bad = (why: string) => new ErstError('ERR_CHECKPOINT_MALFORMED', `checkpoint: ${why}`);
  if (!text.endsWith('\n')) throw bad('does not end in a newline');
  const lines = splitLines(text.slice(0, -1), 'checkpoint');
  if (lines.length < 3) throw bad('fewer than three lines');
  const [origin, sizeLine, rootLine, ...extensions] = lines as [string, string, string, ...string[]];
  if (origin === '') throw bad('empty origin line');
  const size = parseDecimal(sizeLine);
  if (size === undefined || size > MAX_TREE_SIZE) throw bad('the size is not a decimal without leading zeros');
  const root = decodeBase64(rootLine, 'checkpoint root hash', 32);
  if (extensions.length > MAX_CHECKPOINT_EXTENSIONS)
    throw bad(`more than ${MAX_CHECKPOINT_EXTENSIONS} extension lines`);
  if (extensions.some((e) => e === '')) throw bad('an empty extension line');
  return { origin, size, root, extensions };
}

/**
 * Verifies a signed checkpoint: the note must carry a valid signature by one
 * of `verifiers` (ERR_NOTE_UNVERIFIED: signed by another key), and its origin
 * must be `origin` (default: the first verifier's name, since the log's key
 * name is its origin; ERR_CHECKPOINT_ORIGIN_MISMATCH otherwise).
 */
export function openCheckpoint(
  note: string | Uint8Array,
  verifiers: NoteVerifier | readonly NoteVerifier[],
  options: { origin?: string } = {},
): SignedCheckpoint {
  const list = Array.isArray(verifiers) ? verifiers : [verifiers as NoteVerifier];
  const opened = openNote(note, list);
  const checkpoint = parseCheckpoint(opened.text);
  const origin = options.origin ?? list[0]?.name;
  if (checkpoint.origin !== origin) {
    throw new ErstError('ERR_CHECKPOINT_ORIGIN_MISMATCH', `the checkpoint's origin is not ${origin}`, {
      details: { expected: origin, origin: checkpoint.origin },
    });
  }
  const text = typeof note === 'string' ? note : new TextDecoder().decode(note);
  return { ...checkpoint, note: text, text: opened.text, verified: opened.verified };
}

/** Formats and signs a checkpoint; every signer's name should be the origin. */
export async function signCheckpoint(checkpoint: Checkpoint, signers: readonly NoteSigner[]): Promise<string> {
  return signNote(formatCheckpoint(checkpoint), signers);
}
