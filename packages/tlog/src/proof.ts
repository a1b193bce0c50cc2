import { ErstError, bytesToBase64 } from '@erst/core';
import { type SignedCheckpoint, openCheckpoint } from './checkpoint.js';
import type { NoteVerifier } from './keys.js';
import { MAX_PROOF_BYTES, MAX_PROOF_HASHES } from './limits.js';
import { leafHash, verifyInclusion } from './merkle.js';
import { decodeBase64, decodeHashLine, parseDecimal, splitLines, textOf, utf8LongerThan } from './text.js';

export const TLOG_PROOF_HEADER = 'c2sp.org/tlog-proof@v1';

const HASH_LINE = /^[A-Za-z0-9+/]{43}=$/;

/** A C2SP tlog-proof: an entry's index, its inclusion proof, and the signed checkpoint it leads to. */
export interface TlogProof {
  /** Opaque, unauthenticated bytes (the `extra` line), when present. */
  readonly extra?: Uint8Array;
  readonly index: number;
  readonly hashes: readonly Uint8Array[];
  /** The signed checkpoint note, verbatim. */
  readonly checkpoint: string;
}

/** The proof's text: header, optional `extra`, `index N`, one base64 hash a line, a blank line, the checkpoint. */
export function formatTlogProof(proof: TlogProof): string {
  if (!Number.isSafeInteger(proof.index) || proof.index < 0) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`index` must be a non-negative safe integer', {
      details: { options: ['index'] },
    });
  }
  if (proof.hashes.length > MAX_PROOF_HASHES || proof.hashes.some((h) => h.length !== 32)) {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`hashes\` must be at most ${MAX_PROOF_HASHES} hashes of 32 bytes`, {
      details: { options: ['hashes'] },
    });
  }
  const extra = proof.extra && proof.extra.length > 0 ? [`extra ${bytesToBase64(proof.extra)}`] : [];
  const lines = [TLOG_PROOF_HEADER, ...extra, `index ${proof.index}`, ...proof.hashes.map(bytesToBase64)];
  return `${lines.join('\n')}\n\n${proof.checkpoint}`;
}

/**
 * The hash lines of the last proof parsed with it, decoded. Proofs of
 * neighbouring entries in one tree repeat most of their lines (the upper
 * levels of the path): a line that is the same text as one of the last
 * proof's, at the same place counted from the start or from the end, takes
 * that line's bytes instead of being decoded again. The same text decodes to
 * the same bytes, so what parseTlogProof returns or throws is unchanged.
 * The bytes are shared between the proofs parsed with it: read them, never
 * write them.
 */
export class HashLineMemo {
  #lines: readonly string[] = [];
  #hashes: readonly Uint8Array[] = [];

  /** Each line decoded (`decodeHashLine`), or undefined where it is not a canonical hash. */
  decode(lines: readonly string[]): (Uint8Array | undefined)[] {
    const prevLines = this.#lines;
    const prevHashes = this.#hashes;
    const prevCount = prevLines.length;
    const shift = prevCount - lines.length;
    const out = new Array<Uint8Array | undefined>(lines.length);
    let all = true;
    for (let i = 0; i < lines.length; i++) {
      const line = lines[i]!;
      // Both places are read (within bounds, '' where there is no line: a hash line is never empty) on every line,
      // and a match taken through one access: an operation first met after V8 had optimized this loop (a proof of
      // another length, a read past the end) threw its code away.
      const fromEnd = i + shift;
      const same = i < prevCount ? prevLines[i]! : '';
      const shifted = fromEnd >= 0 && fromEnd < prevCount ? prevLines[fromEnd]! : '';
      const at = same === line ? i : shifted === line ? fromEnd : -1;
      let h = at >= 0 ? prevHashes[at] : undefined;
      h ??= decodeHashLine(line);
      if (h === undefined) all = false;
      out[i] = h;
    }
    // Only lines that decoded are remembered: every line kept is a canonical hash.
    if (all) {
      this.#lines = lines;
      this.#hashes = out as Uint8Array[];
    }
    return out;
  }
}

/**
 * Parses a tlog-proof's syntax (the checkpoint is kept verbatim, checked by
 * `verifyTlogProof`). Throws ERR_TLOG_PROOF_MALFORMED, ERR_TLOG_LINE_TOO_LONG
 * or ERR_TLOG_BASE64_NONCANONICAL. `memo`: for a caller parsing many proofs
 * of one tree (see HashLineMemo); the result is the same with or without.
 */
export function parseTlogProof(input: string | Uint8Array, memo?: HashLineMemo): TlogProof {
  const bad = (why: string) => new ErstError('ERR_TLOG_PROOF_MALFORMED', `tlog-proof: ${why}`);
  const tooLong = typeof input === 'string' ? utf8LongerThan(input, MAX_PROOF_BYTES) : input.length > MAX_PROOF_BYTES;
  if (tooLong || (typeof input === 'string' && input.length > MAX_PROOF_BYTES)) {
    throw bad(`longer than ${MAX_PROOF_BYTES} bytes`);
  }
  const text = textOf(input, 'ERR_TLOG_PROOF_MALFORMED');
  const blank = text.indexOf('\n\n');
  if (blank < 0) throw bad('no blank line before the checkpoint');
  const lines = splitLines(text.slice(0, blank), 'tlog-proof');
  const checkpoint = text.slice(blank + 2);
  if (lines[0] !== TLOG_PROOF_HEADER) throw bad(`the first line is not ${TLOG_PROOF_HEADER}`);
  let at = 1;
  let extra: Uint8Array | undefined;
  if (lines[at]?.startsWith('extra ')) {
    extra = decodeBase64(lines[at]!.slice('extra '.length), 'tlog-proof extra');
    at++;
  }
  const indexLine = lines[at] ?? '';
  const index = indexLine.startsWith('index ') ? parseDecimal(indexLine.slice('index '.length)) : undefined;
  if (index === undefined) throw bad('no "index N" line (decimal, no leading zeros)');
  const hashLines = lines.slice(at + 1);
  if (hashLines.length > MAX_PROOF_HASHES) throw bad(`more than ${MAX_PROOF_HASHES} proof hashes`);
  // Every line a canonical hash: one pass each (a batch verifies a proof per record).
  const fast = memo ? memo.decode(hashLines) : hashLines.map(decodeHashLine);
  const hashes = fast.every((h): h is Uint8Array => h !== undefined) ? fast : slowHashes(hashLines, at, bad);
  if (checkpoint === '') throw bad('no checkpoint after the blank line');
  return extra ? { extra, index, hashes, checkpoint } : { index, hashes, checkpoint };
}

/** The proof's hash lines, when one is not a canonical hash: the first bad line named, as its own error. */
function slowHashes(hashLines: readonly string[], at: number, bad: (why: string) => ErstError): Uint8Array[] {
  // A line of another shape is not a hash at all (e.g. the checkpoint, when the blank line is missing).
  const bad32 = hashLines.findIndex((h) => !HASH_LINE.test(h));
  if (bad32 >= 0) throw bad(`line ${at + 2 + bad32} is not a base64 SHA-256 hash`);
  return hashLines.map((h, i) => decodeBase64(h, `proof hash ${i + 1}`, 32));
}

/** What a verified proof says. */
export interface VerifiedTlogProof {
  readonly origin: string;
  readonly index: number;
  readonly size: number;
  readonly checkpoint: SignedCheckpoint;
  readonly extra?: Uint8Array;
}

export interface VerifyTlogProofOptions {
  /** The logged entry (its leaf hash is computed here); give `entry` or `leafHash`. */
  entry?: Uint8Array;
  leafHash?: Uint8Array;
  /** The log's key(s); the checkpoint must be signed by one. */
  verifiers: NoteVerifier | readonly NoteVerifier[];
  /** The expected origin (default: the first verifier's name). */
  origin?: string;
  /** The index the caller expects (ERR_TLOG_PROOF_INDEX_MISMATCH when the proof names another). */
  index?: number;
}

/**
 * Verifies a tlog-proof offline: the checkpoint's signature and origin
 * (`openCheckpoint`), the index (when expected), and the inclusion of the
 * entry at that index under the checkpoint's root (ERR_TLOG_INCLUSION_INVALID).
 */
export function verifyTlogProof(
  input: string | Uint8Array | TlogProof,
  options: VerifyTlogProofOptions,
): VerifiedTlogProof {
  const proof = typeof input === 'string' || input instanceof Uint8Array ? parseTlogProof(input) : input;
  const checkpoint = openCheckpoint(proof.checkpoint, options.verifiers, { origin: options.origin });
  if (options.index !== undefined && options.index !== proof.index) {
    throw new ErstError(
      'ERR_TLOG_PROOF_INDEX_MISMATCH',
      `the proof is for index ${proof.index}, not ${options.index}`,
      {
        details: { expected: options.index, index: proof.index },
      },
    );
  }
  const leaf = options.leafHash ?? (options.entry ? leafHash(options.entry) : undefined);
  if (!leaf) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`entry` or `leafHash` is required', {
      details: { options: ['entry', 'leafHash'] },
    });
  }
  verifyInclusion(leaf, proof.index, checkpoint.size, proof.hashes, checkpoint.root);
  const out = { origin: checkpoint.origin, index: proof.index, size: checkpoint.size, checkpoint };
  return proof.extra ? { ...out, extra: proof.extra } : out;
}
