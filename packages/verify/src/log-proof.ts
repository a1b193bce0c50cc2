import { type SignedRecord, hexToBytes, isErstError, publicKeyId } from '@erst/core';
import {
  type Note,
  type NoteVerifier,
  type SignedCheckpoint,
  isValidKeyName,
  keyIdHex,
  leafHash,
  noteVerifier,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseTlogProof,
  verifyInclusion,
} from '@erst/tlog';
import { type VerifyErrorCode, type WarningCode, isVerifyErrorCode } from './codes.js';

/** What a 2.1.0 record's `log_proof` says, and whether it held up. */
export interface LogReport {
  /** The checkpoint's origin: the log's name. */
  origin: string;
  /** The record's entry index in the log. */
  index: number;
  /** The size of the tree the checkpoint commits to. */
  tree_size: number;
  /**
   * Which key the checkpoint was checked under: `log-key`, a given log key
   * for its origin; `record`, the record's own `public_key` named as the
   * origin.
   */
  key: 'record' | 'log-key';
  /** The checkpoint's signature and the entry's inclusion both verified. */
  verified: boolean;
}

export interface LogOutcome {
  log: LogReport | null;
  errors: { code: VerifyErrorCode; message: string }[];
  warnings: { code: WarningCode; message: string }[];
}

/**
 * Signed checkpoints already verified, by verifier keys and note text: a
 * batch shares one checkpoint, so its signature is checked once, and each
 * record then costs one inclusion proof (a few dozen hashes).
 */
export class CheckpointCache {
  readonly #opened = new Map<string, SignedCheckpoint>();

  open(note: string, verifiers: readonly NoteVerifier[]): SignedCheckpoint {
    const id = `${verifiers.map((v) => `${v.name}+${keyIdHex(v.keyId)}+${publicKeyId(v.publicKey)}`).join(' ')}\n${note}`;
    let checkpoint = this.#opened.get(id);
    if (!checkpoint) {
      // The origin expected is the first key's name: a log key that signed another log's checkpoint fails here.
      checkpoint = openCheckpoint(note, verifiers);
      if (this.#opened.size >= 256) this.#opened.clear();
      this.#opened.set(id, checkpoint);
    }
    return checkpoint;
  }
}

function signs(note: Note, v: NoteVerifier): boolean {
  return note.signatures.some((s) => s.name === v.name && s.keyId === v.keyId);
}

/** A tlog or note error as the result carries it; anything else is a bug, for the caller's ERR_INTERNAL. */
function asIssue(e: unknown): { code: VerifyErrorCode; message: string } {
  if (isErstError(e) && isVerifyErrorCode(e.code)) return { code: e.code, message: `log_proof: ${e.message}` };
  throw e;
}

/**
 * Checks a 2.1.0 record's `log_proof`: its entry is the 32 bytes of the
 * record's `trace_hash`, included at the proof's index under the root of a
 * checkpoint signed by a key that vouches for it: the given log keys named as
 * the checkpoint's origin, or, when none is, the record's own key under that
 * name. A record without a signature needs its own key's signature on the
 * checkpoint as well, since nothing else binds its `public_key`. A signed
 * record whose checkpoint no such key signed gets a warning: its proof is
 * unchecked, not failed.
 */
export function checkLogProof(
  rec: SignedRecord & { logProof: string },
  logKeys: readonly NoteVerifier[],
  cache: CheckpointCache,
): LogOutcome {
  const out: LogOutcome = { log: null, errors: [], warnings: [] };
  let proof: ReturnType<typeof parseTlogProof>;
  let note: Note;
  let origin: string;
  try {
    proof = parseTlogProof(rec.logProof);
    note = parseNote(proof.checkpoint);
    const checkpoint = parseCheckpoint(note.text);
    origin = checkpoint.origin;
    out.log = { origin, index: proof.index, tree_size: checkpoint.size, key: 'record', verified: false };
  } catch (e) {
    out.errors.push(asIssue(e));
    return out;
  }
  const log = out.log;
  const recordKey = isValidKeyName(origin) ? noteVerifier(origin, rec.publicKey) : undefined;
  const byRecordKey = recordKey !== undefined && signs(note, recordKey);
  const forOrigin = logKeys.filter((k) => k.name === origin);
  // A given log key that signed this note under its own name, another log's: checked, so that it fails as a mismatch.
  const foreign = forOrigin.length > 0 ? [] : logKeys.filter((k) => signs(note, k));
  let verifiers: readonly NoteVerifier[];
  if (forOrigin.length > 0 || foreign.length > 0) {
    verifiers = forOrigin.length > 0 ? forOrigin : foreign;
    log.key = 'log-key';
  } else if (byRecordKey) {
    verifiers = [recordKey!];
  } else if (rec.signature) {
    out.warnings.push({
      code: 'WARN_LOG_PROOF_UNCHECKED',
      message:
        `the record's log proof (log ${origin}, index ${proof.index}) could not be checked: no log key was given ` +
        `for ${origin}, and the record's own key did not sign its checkpoint`,
    });
    return out;
  } else {
    out.errors.push(notByRecordKey(origin));
    return out;
  }
  try {
    const checkpoint = cache.open(proof.checkpoint, verifiers);
    verifyInclusion(
      leafHash(hexToBytes(rec.claimedHash)!),
      proof.index,
      checkpoint.size,
      proof.hashes,
      checkpoint.root,
    );
    if (!rec.signature && log.key === 'log-key') {
      if (!byRecordKey) {
        out.errors.push(notByRecordKey(origin));
        return out;
      }
      cache.open(proof.checkpoint, [recordKey!]);
    }
  } catch (e) {
    out.errors.push(asIssue(e));
    return out;
  }
  log.verified = true;
  return out;
}

function notByRecordKey(origin: string): { code: VerifyErrorCode; message: string } {
  return {
    code: 'ERR_LOG_NOT_SIGNED_BY_RECORD_KEY',
    message:
      `the record has no signature, and its own key did not sign the checkpoint of log ${origin}: nothing ` +
      `binds the record to the key it names`,
  };
}
