import {
  ErstError,
  type PublicKey,
  type SignedRecord,
  equalBytes,
  hexToBytes,
  isErstError,
  publicKeyId,
} from '@erst/core';
import {
  type Checkpoint,
  type Note,
  type NoteVerifier,
  type SignedCheckpoint,
  type TlogProof,
  isValidKeyName,
  keyIdHex,
  leafHash,
  noteVerifier,
  openCheckpoint,
  parseCheckpoint,
  parseNote,
  parseTlogProof,
  verifyInclusion,
  HashLineMemo,
  InclusionMemo,
} from '@erst/tlog';
import { type VerifyErrorCode, type WarningCode, isVerifyErrorCode } from './codes.js';
import type { CheckedVerifiedLog } from './options.js';
import type { TimestampReport } from './timestamp-token.js';

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
  /**
   * The checkpoint's RFC 3161 timestamp token (the proof's `extra` line),
   * checked as a record's `timestamp_token` is but over SHA-256 of the
   * checkpoint's note text; null when the proof carries none, or was not
   * verified (a token over an unverified checkpoint proves nothing).
   */
  timestamp: TimestampReport | null;
}

export interface LogOutcome {
  log: LogReport | null;
  /** A verified proof's `extra` token and the checkpoint's note text it must be over, for the Verifier to check. */
  checkpointToken?: { token: Uint8Array; noteText: string };
  errors: { code: VerifyErrorCode; message: string }[];
  warnings: { code: WarningCode; message: string }[];
}

// A verifier's identity, computed once per verifier object (the Verifier keeps its log keys and record keys).
const verifierIds = new WeakMap<NoteVerifier, string>();
function verifierId(v: NoteVerifier): string {
  let id = verifierIds.get(v);
  if (id === undefined) {
    id = `${v.name}+${keyIdHex(v.keyId)}+${publicKeyId(v.publicKey)}`;
    verifierIds.set(v, id);
  }
  return id;
}

/** A checkpoint note as read, and the key sets it has verified under. */
interface CachedNote {
  /** The note's text as first read: one string for every record under this checkpoint. */
  readonly text: string;
  readonly note: Note;
  readonly checkpoint: Checkpoint;
  readonly opened: Map<string, SignedCheckpoint>;
  /** Nodes of this checkpoint's tree that earlier records' proofs authenticated (text fixes size and root). */
  readonly memo: InclusionMemo;
}

/**
 * Checkpoints as read and as verified, by note text: a batch shares one
 * checkpoint, so its text is parsed and its signature checked once, and each
 * record then costs one map lookup, then one inclusion proof (a few dozen
 * hashes) or with a verified log one comparison.
 */
export class CheckpointCache {
  readonly #notes = new Map<string, CachedNote>();
  readonly #recordKeys = new Map<string, NoteVerifier | undefined>();
  #lastRecordKey:
    | { origin: string; algorithm: string; raw: Uint8Array; verifier: NoteVerifier | undefined }
    | undefined;
  /** The last proof's hash lines, decoded: the next record's proof (in a batch, the next entry's) repeats most. */
  readonly lines = new HashLineMemo();

  /** The note and its checkpoint, parsed (throws what parseNote and parseCheckpoint throw). */
  parse(text: string): CachedNote {
    let cached = this.#notes.get(text);
    if (!cached) {
      const note = parseNote(text);
      cached = { text, note, checkpoint: parseCheckpoint(note.text), opened: new Map(), memo: new InclusionMemo() };
      if (this.#notes.size >= 256) this.#notes.clear();
      this.#notes.set(text, cached);
    }
    return cached;
  }

  /** The note (`text`, as `cached` was parsed from) verified under `verifiers` (throws what openCheckpoint throws). */
  open(cached: CachedNote, text: string, verifiers: readonly NoteVerifier[]): SignedCheckpoint {
    const id = verifiers.length === 1 ? verifierId(verifiers[0]!) : verifiers.map(verifierId).join(' ');
    let checkpoint = cached.opened.get(id);
    if (!checkpoint) {
      // The origin expected is the first key's name: a log key that signed another log's checkpoint fails here.
      checkpoint = openCheckpoint(text, verifiers);
      if (cached.opened.size >= 16) cached.opened.clear();
      cached.opened.set(id, checkpoint);
    }
    return checkpoint;
  }

  /** The record's key as a note verifier under the origin's name, or undefined when the origin is no key name. */
  recordKey(origin: string, key: PublicKey): NoteVerifier | undefined {
    // A batch's records name one key and one origin, record after record: compared, not looked up by a key string
    // made each time (the same origin, algorithm and key bytes are the same id, so the same answer).
    const last = this.#lastRecordKey;
    if (last && last.origin === origin && last.algorithm === key.algorithm && equalBytes(last.raw, key.raw)) {
      return last.verifier;
    }
    // Its key ID is a SHA-256: an archive repeats a handful of keys and origins.
    const id = `${origin}\n${publicKeyId(key)}`;
    let verifier: NoteVerifier | undefined;
    if (this.#recordKeys.has(id)) verifier = this.#recordKeys.get(id);
    else {
      verifier = isValidKeyName(origin) ? noteVerifier(origin, key) : undefined;
      if (this.#recordKeys.size >= 256) this.#recordKeys.clear();
      this.#recordKeys.set(id, verifier);
    }
    // A copy of the key's bytes: the record's own may change after this call.
    this.#lastRecordKey = { origin, algorithm: key.algorithm, raw: key.raw.slice(), verifier };
    return verifier;
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

/** What the Verifier knows of logs: the keys that vouch for their checkpoints, and the logs a caller verified whole. */
export interface LogTrust {
  /** `logKeys`, and the key of each verified log. */
  readonly logKeys: readonly NoteVerifier[];
  /** `verifiedLogs` by origin. */
  readonly verifiedLogs: ReadonlyMap<string, CheckedVerifiedLog>;
}

// The log keys named as each origin, by LogTrust: looked up per record, filtered once per origin.
const keysByOrigin = new WeakMap<LogTrust, Map<string, readonly NoteVerifier[]>>();
function logKeysFor(trust: LogTrust, origin: string): readonly NoteVerifier[] {
  let byOrigin = keysByOrigin.get(trust);
  if (!byOrigin) {
    byOrigin = new Map();
    keysByOrigin.set(trust, byOrigin);
  }
  let keys = byOrigin.get(origin);
  if (!keys) {
    keys = trust.logKeys.filter((k) => k.name === origin);
    // Origins come from records: an archive of many logs must not grow this without bound.
    if (byOrigin.size >= 256) byOrigin.clear();
    byOrigin.set(origin, keys);
  }
  return keys;
}

/** The Verifier's LogTrust: a verified log's key vouches for its origin's checkpoints, as a log key does. */
export function logTrust(logKeys: readonly NoteVerifier[], verifiedLogs: readonly CheckedVerifiedLog[]): LogTrust {
  const known = new Set(logKeys.map(verifierId));
  return {
    logKeys: [...logKeys, ...verifiedLogs.map((l) => l.verifier).filter((v) => !known.has(verifierId(v)))],
    verifiedLogs: new Map(verifiedLogs.map((l) => [l.verifier.name, l])),
  };
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
 *
 * When the checkpoint is signed by the key of a log the caller verified whole
 * and the index is inside it, that log's entry at the index must also be
 * this `trace_hash`. The proof is always walked, through the checkpoint's
 * InclusionMemo: a batch's records cost a hash or two each.
 */
export function checkLogProof(
  rec: SignedRecord & { logProof: string },
  trust: LogTrust,
  cache: CheckpointCache,
): LogOutcome {
  const out: LogOutcome = { log: null, errors: [], warnings: [] };
  let proof: TlogProof;
  let parsed: CachedNote;
  let note: Note;
  let origin: string;
  try {
    proof = parseTlogProof(rec.logProof, cache.lines);
    parsed = cache.parse(proof.checkpoint);
    note = parsed.note;
    origin = parsed.checkpoint.origin;
    out.log = {
      origin,
      index: proof.index,
      tree_size: parsed.checkpoint.size,
      key: 'record',
      verified: false,
      timestamp: null,
    };
  } catch (e) {
    out.errors.push(asIssue(e));
    return out;
  }
  const log = out.log;
  const recordKey = cache.recordKey(origin, rec.publicKey);
  const byRecordKey = recordKey !== undefined && signs(note, recordKey);
  const forOrigin = logKeysFor(trust, origin);
  // A given log key that signed this note under its own name, another log's: checked, so that it fails as a mismatch.
  const foreign = forOrigin.length > 0 ? [] : trust.logKeys.filter((k) => signs(note, k));
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
    const checkpoint = cache.open(parsed, proof.checkpoint, verifiers);
    // With a log the caller verified whole, its entry at the index must be this trace_hash too. The proof is
    // still walked (a record whose proof was edited must fail here as in any other verifier), through the
    // checkpoint's memo: a batch's records share most of their proof, so each costs a hash or two.
    const entry = hexToBytes(rec.claimedHash)!;
    const verified = trust.verifiedLogs.get(origin);
    if (verified && proof.index < verified.size && proof.index < checkpoint.size && signedBy(checkpoint, verified)) {
      lookUp(entry, proof.index, verified);
    }
    verifyInclusion(leafHash(entry), proof.index, checkpoint.size, proof.hashes, checkpoint.root, parsed.memo);
    if (!rec.signature && log.key === 'log-key') {
      if (!byRecordKey) {
        out.errors.push(notByRecordKey(origin));
        return out;
      }
      cache.open(parsed, proof.checkpoint, [recordKey!]);
    }
  } catch (e) {
    out.errors.push(asIssue(e));
    return out;
  }
  log.verified = true;
  Object.defineProperty(log, VERIFIED_NOTE, { value: parsed.text });
  if (proof.extra) out.checkpointToken = { token: proof.extra, noteText: note.text };
  return out;
}

// The note text of each verified proof's checkpoint, on its report under a symbol (not enumerable: JSON, structured
// clones and comparisons never see it), so that results (and the reports made of them) stay as they are; shared (one
// string per distinct checkpoint). Not a WeakMap: there, every record's report was one more entry (an ephemeron)
// for the garbage collector to track.
const VERIFIED_NOTE = Symbol('verifiedCheckpointNote');

/**
 * The signed checkpoint note text a record's `log_proof` ended with, for a
 * `result.log` this process's Verifier verified (`verified: true`); undefined
 * otherwise, and for a report that crossed a structured clone or was built
 * elsewhere. A batch's records share a checkpoint, and a caller that groups
 * records by checkpoint (erst-batch's completeness check) reads it here
 * instead of parsing the record again.
 */
export function verifiedCheckpointNote(report: LogReport): string | undefined {
  return Object.hasOwn(report, VERIFIED_NOTE) ? (report as { [VERIFIED_NOTE]?: string })[VERIFIED_NOTE] : undefined;
}

function signedBy(checkpoint: SignedCheckpoint, log: CheckedVerifiedLog): boolean {
  return checkpoint.verified.some((s) => s.name === log.verifier.name && s.keyId === log.verifier.keyId);
}

/** The verified log's entry at `index` is the record's trace_hash (its 32 bytes), or the proof fails. */
function lookUp(trace: Uint8Array, index: number, log: CheckedVerifiedLog): void {
  const entries = log.entries;
  const at = index * 32;
  for (let i = 0; i < 32; i++) {
    if (entries[at + i] !== trace[i]) {
      throw new ErstError(
        'ERR_TLOG_INCLUSION_INVALID',
        `the log ${log.verifier.name}, as verified, holds another entry at index ${index}`,
        { details: { index, size: log.size } },
      );
    }
  }
}

function notByRecordKey(origin: string): { code: VerifyErrorCode; message: string } {
  return {
    code: 'ERR_LOG_NOT_SIGNED_BY_RECORD_KEY',
    message:
      `the record has no signature, and its own key did not sign the checkpoint of log ${origin}: nothing ` +
      `binds the record to the key it names`,
  };
}
