import type { AttestationReport } from '@erst/attestation';
import {
  type Algorithm,
  type JsonValue,
  type PublicKey,
  type RecordFormat,
  type SignedRecord,
  bytesToHex,
  errorCategory,
  hashInputDigest,
  hasNativeSha256,
  internalError,
  isErstError,
  parseRecord,
  parseRecordBytes,
  parseRecordBytesAsync,
  parseRfc3339,
  parseStrictJson,
  publicKeyId,
  utf8Bytes,
} from '@erst/core';
import {
  type Ed25519Backend,
  type KeyVerdict,
  checkEd25519PublicKey,
  selectBackend,
  signatureIsStrictlyEncoded,
} from './ed25519.js';
import { type VerifyErrorCode, type WarningCode, isVerifyErrorCode } from './codes.js';
import { verifyP256 } from './ecdsa.js';
import {
  CheckpointCache,
  type LogOutcome,
  type LogReport,
  type LogTrust,
  checkLogProof,
  logTrust,
} from './log-proof.js';
import { checkOptions } from './options.js';
import { CheckpointTokens, type TimestampReport, checkTimestampToken } from './timestamp-token.js';
import { TrustIndex, type TrustPolicy, withinWindow } from './trust.js';

export interface VerifyIssue<C extends string = VerifyErrorCode> {
  code: C;
  message: string;
}

/**
 * `pinned`: the key is one the caller trusts. `attested`: the key is proven
 * hardware-held by a chain to a pinned root. `embedded-only`: the signature
 * verifies under the key the record names, and nobody pinned anything (proof
 * that someone signed it, not who). `untrusted`: trust anchors were given and
 * this key is not among them, or integrity failed.
 */
export type TrustLevel = 'pinned' | 'attested' | 'embedded-only' | 'untrusted';

export interface VerifyResult {
  /** Integrity holds and the trust the caller asked for is met. */
  valid: boolean;
  format: RecordFormat | null;
  /** `signature: 'absent'`: a 2.1.0 record sealed by its log proof alone (see `log`). */
  integrity: { hash: 'ok' | 'mismatch' | 'unchecked'; signature: 'ok' | 'invalid' | 'unchecked' | 'absent' };
  trust: TrustLevel;
  key: { algorithm: Algorithm; public_key: string; label?: string } | null;
  trace_hash: string | null;
  transaction_hash: string | null;
  timestamp: string | null;
  /** Top-level fields covered by the signature (or the log proof), and those nothing covers. */
  covered: string[];
  uncovered: string[];
  attestation: AttestationReport | null;
  /** A 2.1.0 record's log proof: where it says the record is, and whether that was verified; else null. */
  log: LogReport | null;
  /**
   * A 2.1.0 record's `timestamp_token`: genTime, the TSA, its accuracy, and
   * whether the token verified against a pinned TSA root; else null. (The
   * record's own claim is `timestamp`.)
   */
  timestamp_token: TimestampReport | null;
  errors: VerifyIssue[];
  warnings: VerifyIssue<WarningCode>[];
}

export interface VerifyOptions {
  /** Pinned keys: hex (raw) or SPKI PEM text, or parsed keys. */
  publicKeys?: readonly (string | PublicKey)[];
  /** Parsed trust files (see parseTrustFile). */
  trust?: TrustPolicy | readonly TrustPolicy[];
  /** PEM text of pinned attestation roots. */
  attestationRoots?: readonly string[];
  /** Refuse records whose key is not hardware-attested to a pinned root. */
  requireAttestation?: boolean;
  /**
   * Ed25519 implementation; `auto` uses WebCrypto when the runtime has it.
   * `node` (Node only) verifies synchronously with node:crypto, for callers
   * that spread work over their own worker threads.
   */
  backend?: 'auto' | 'webcrypto' | 'noble' | 'node';
  /** Largest record accepted, in bytes. */
  maxBytes?: number;
  /**
   * Verifier keys (`<origin>+<key ID>+<key>`) of the logs whose checkpoints a
   * 2.1.0 record's `log_proof` may lead to. A log key named as a checkpoint's
   * origin is the one that must have signed it; without one, the record's own
   * key must have, under the origin's name.
   */
  logKeys?: readonly string[];
  /**
   * PEM text of pinned RFC 3161 TSA roots. A record's `timestamp_token` must
   * chain to one; without any, a token is reported but unproven
   * (WARN_TIMESTAMP_NOT_CHECKED).
   */
  tsaRoots?: readonly string[];
  /**
   * Refuse records without a timestamp token verified against a pinned TSA
   * root (ERR_TIMESTAMP_REQUIRED): the record's own, or its log checkpoint's.
   */
  requireTimestamp?: boolean;
  /**
   * Logs the caller has already read and verified whole (its checkpoint's
   * signature, and its tree recomputed from the entry bundles up to that
   * root, as `readLog` of `@erst/log-store` does): at most one per origin.
   * Each log's key counts as a log key for its origin (as if in `logKeys`),
   * and for a record whose checkpoint that key signed and whose index is
   * below the log's `size`, the log's entry at that index must be the
   * record's `trace_hash` as well. The record's proof is still walked (an
   * edited proof fails as without this option), through the nodes earlier
   * proofs under that checkpoint authenticated; its checkpoint signature is
   * checked once per distinct checkpoint, and so is everything else; a record past `size`, or under
   * a checkpoint that key did not sign, is checked by its proof as without
   * this option. The Verifier does not recheck these entries: they are the
   * caller's word.
   */
  verifiedLogs?: readonly VerifiedLog[];
}

/** A log verified whole by the caller: see `VerifyOptions.verifiedLogs`. */
export interface VerifiedLog {
  /** The verifier key (`<origin>+<key ID>+<key>`) its checkpoint verified under; the key's name is the origin. */
  verifierKey: string;
  /** How many entries were verified: the verified checkpoint's size. */
  size: number;
  /**
   * `size` x 32 bytes: entry i (the 32 raw bytes of the `trace_hash` logged at
   * index i) at bytes [32 i, 32 i + 32). May be a view of a SharedArrayBuffer,
   * so that worker threads share one copy.
   */
  entries: Uint8Array;
}

/** A record as text, bytes, or an already-parsed JSON value. */
export type VerifyInput = string | Uint8Array | JsonValue;

// A key's verdict never changes; archives repeat a handful of keys.
const keyVerdicts = new Map<string, KeyVerdict>();
/** `id`: the key's publicKeyId, when the caller has it. */
function ed25519Verdict(key: PublicKey, id = publicKeyId(key)): KeyVerdict {
  let v = keyVerdicts.get(id);
  if (!v) {
    if (keyVerdicts.size > 4096) keyVerdicts.clear();
    v = checkEd25519PublicKey(key.raw);
    keyVerdicts.set(id, v);
  }
  return v;
}

/**
 * publicKeyId of the record's key, from the hex the result already holds: a
 * record's key is looked up more than once, and converting its bytes to hex
 * each time was a measurable part of a logged record's check.
 */
function resultKeyId(result: VerifyResult): string {
  return `${result.key!.algorithm}:${result.key!.public_key}`;
}

function emptyResult(): VerifyResult {
  return {
    valid: false,
    format: null,
    integrity: { hash: 'unchecked', signature: 'unchecked' },
    trust: 'untrusted',
    key: null,
    trace_hash: null,
    transaction_hash: null,
    timestamp: null,
    covered: [],
    uncovered: [],
    attestation: null,
    log: null,
    timestamp_token: null,
    errors: [],
    warnings: [],
  };
}

/**
 * The result for input that could not be read at all (a missing file, say).
 * Pass the ErstError the reading raised: a code VerifyResult documents (the
 * ERR_FILE_* codes, ERR_INPUT_TOO_LARGE) is kept; anything else is reported
 * as ERR_INTERNAL, since only a bug hands this function something else.
 */
export function unreadableResult(error: unknown): VerifyResult {
  const r = emptyResult();
  r.errors.push(issue(error));
  return r;
}

/**
 * Bad input raises an ErstError of category 'input'; anything else reaching
 * here (a TypeError, a crypto backend failing) is a bug, and is reported as
 * ERR_INTERNAL with its message rather than passed off as a malformed record.
 */
function issue(e: unknown): VerifyIssue {
  if (isErstError(e) && errorCategory(e.code) === 'input' && isVerifyErrorCode(e.code))
    return { code: e.code, message: e.message };
  const internal = internalError(e);
  return {
    code: 'ERR_INTERNAL',
    message: internal.code === 'ERR_INTERNAL' ? internal.message : `${internal.code}: ${internal.message}`,
  };
}

/** True when every error is about reading the input, not about verification. */
export function isMalformed(result: VerifyResult): boolean {
  return (
    result.errors.length > 0 && result.format === null && result.errors.every((e) => errorCategory(e.code) === 'input')
  );
}

/**
 * Verifies records against one set of trust anchors. Reuse one Verifier for
 * many records: keys, verdicts and attestation results are cached.
 */
export class Verifier {
  readonly #trust: TrustIndex;
  readonly #backend: Promise<Ed25519Backend>;
  readonly #maxBytes: number | undefined;
  readonly #requireAttestation: boolean;
  readonly #logs: LogTrust;
  readonly #checkpoints = new CheckpointCache();
  readonly #checkpointTokens = new CheckpointTokens();
  #attestation: Promise<typeof import('@erst/attestation')> | undefined;
  #timestamp: Promise<typeof import('@erst/timestamp')> | undefined;

  /** Throws the codes of checkOptions (ERR_PUBLIC_KEY_FORMAT, ERR_OPTIONS_INVALID, ERR_CRYPTO_UNAVAILABLE) for bad options. */
  constructor(options: VerifyOptions = {}) {
    const o = checkOptions(options);
    const pinned: TrustPolicy = {
      keys: o.keys.map((key) => ({ key })),
      attestationRoots: o.roots,
      requireAttestation: o.requireAttestation,
      tsaRoots: o.tsaRoots,
      requireTimestamp: o.requireTimestamp,
    };
    this.#trust = new TrustIndex([pinned, ...o.trust]);
    this.#requireAttestation = this.#trust.requireAttestation;
    this.#backend = selectBackend(o.backend);
    this.#maxBytes = o.maxBytes;
    this.#logs = logTrust(o.logKeys, o.verifiedLogs);
  }

  /** Which Ed25519 implementation runs ('webcrypto' or 'noble'). */
  async backendName(): Promise<string> {
    return (await this.#backend).name;
  }

  /**
   * Verifies one record. Never throws: problems with the record are in
   * `errors`, and so is an unexpected exception (a bug), as ERR_INTERNAL.
   */
  async verify(input: VerifyInput): Promise<VerifyResult> {
    const result = emptyResult();
    try {
      return await this.#verify(input, result);
    } catch (e) {
      result.valid = false;
      result.errors.push(issue(e));
      return result;
    }
  }

  async #verify(input: VerifyInput, result: VerifyResult): Promise<VerifyResult> {
    let rec: SignedRecord;
    try {
      // Bytes: parseRecordBytes is parseRecord(parseStrictJson(...)), faster for the usual record; where hashing is
      // WebCrypto's (browsers), its asynchronous twin is (Node keeps the synchronous one: no await per record).
      rec =
        input instanceof Uint8Array
          ? hasNativeSha256
            ? // Borrowed (both ways): the record never leaves this call, and input is not changed during it.
              parseRecordBytes(input, { maxBytes: this.#maxBytes, borrow: true })
            : await parseRecordBytesAsync(input, { maxBytes: this.#maxBytes, borrow: true })
          : parseRecord(typeof input === 'string' ? parseStrictJson(input, { maxBytes: this.#maxBytes }) : input);
    } catch (e) {
      result.errors.push(issue(e));
      return result;
    }
    if (typeof input === 'object' && !(input instanceof Uint8Array)) {
      result.warnings.push({
        code: 'WARN_PARSED_OBJECT_INPUT',
        message: 'record was passed already parsed: duplicate keys in its source could not be checked',
      });
    }
    return this.#verifyParsed(rec, result);
  }

  async #verifyParsed(rec: SignedRecord, result: VerifyResult): Promise<VerifyResult> {
    result.format = rec.format;
    result.key = { algorithm: rec.algorithm, public_key: bytesToHex(rec.publicKey.raw) };
    result.trace_hash = rec.claimedHash;
    result.transaction_hash = rec.transactionHash ?? null;
    result.timestamp = rec.timestamp ?? null;
    result.covered = [...rec.covered];
    result.uncovered = [...rec.uncovered];
    if (rec.uncovered.length > 0) {
      result.warnings.push({
        code: 'WARN_UNCOVERED_FIELDS',
        message:
          `format ${rec.format} does not sign ${rec.uncovered.join(', ')}: those fields can be changed ` +
          `without detection`,
      });
    }

    // Integrity
    // Native WebCrypto in browsers (the JavaScript hash was a third of a browser's work per record), node:crypto in Node;
    // for a record read from bytes, the digest parseRecordBytes made from them.
    const digest = await hashInputDigest(rec);
    const digestHex = bytesToHex(digest);
    result.integrity.hash = digestHex === rec.claimedHash ? 'ok' : 'mismatch';
    if (result.integrity.hash === 'mismatch') {
      result.errors.push({
        code: 'ERR_HASH_MISMATCH',
        message:
          `the record's content hashes to ${digestHex}, not the ` +
          `${rec.format === 'erst-ts' ? 'hash' : 'trace_hash'} ${rec.claimedHash} it claims: the record was changed`,
      });
    }
    if (rec.signature) {
      const sigOk = await this.#checkSignature(rec, rec.signature, digest, digestHex, result);
      result.integrity.signature = sigOk ? 'ok' : 'invalid';
      if (!sigOk && !result.errors.some((e) => e.code === 'ERR_PUBLIC_KEY_WEAK')) {
        result.errors.push({
          code: 'ERR_SIGNATURE_INVALID',
          message: `the signature does not verify under the record's ${rec.algorithm} key ${result.key.public_key}`,
        });
      }
    } else {
      // Sealed by its log proof alone, which must then verify under this key: a weak one would vouch for anything.
      result.integrity.signature = 'absent';
      if (rec.algorithm === 'ed25519') this.#checkEd25519Key(rec, result);
    }
    let logOutcome: LogOutcome | undefined;
    if (rec.logProof !== undefined && !result.errors.some((e) => e.code === 'ERR_PUBLIC_KEY_WEAK')) {
      logOutcome = checkLogProof(rec as SignedRecord & { logProof: string }, this.#logs, this.#checkpoints);
      result.log = logOutcome.log;
      result.errors.push(...logOutcome.errors);
      result.warnings.push(...logOutcome.warnings);
    }
    if (result.errors.length > 0) return result;

    // Trusted timestamps (@erst/timestamp loads only when a record or its checkpoint carries a token).
    let genTime: Date | undefined;
    if (rec.timestampToken !== undefined) {
      const outcome = await checkTimestampToken(
        rec as SignedRecord & { timestampToken: string },
        this.#trust.tsaRoots,
        await this.#timestampModule(),
      );
      result.timestamp_token = outcome.report;
      result.errors.push(...outcome.errors);
      result.warnings.push(...outcome.warnings);
      genTime = outcome.genTime;
    }
    // A timestamped checkpoint dates every record under it: checked once per checkpoint, compared per record.
    if (logOutcome?.checkpointToken) {
      const { token, noteText } = logOutcome.checkpointToken;
      const outcome = await this.#checkpointTokens.check(
        token,
        noteText,
        rec.timestamp,
        this.#trust.tsaRoots,
        await this.#timestampModule(),
      );
      result.log!.timestamp = outcome.report;
      result.errors.push(...outcome.errors);
      result.warnings.push(...outcome.warnings);
      // A record's own token is the nearer proof of its time: the checkpoint's dates only a record without one.
      if (rec.timestampToken === undefined) genTime = outcome.genTime;
    }

    // Attestation (only loaded when a record carries one). Chain checks are
    // cached inside @erst/attestation, so an archive that repeats one token's
    // chain pays for them once.
    if (rec.attestation) {
      const times = [rec.attestation.retrieved_at, rec.timestamp]
        .map((t) => (t === undefined ? undefined : parseRfc3339(t)))
        .filter((t): t is Date => t !== undefined);
      try {
        const att = await this.#attestationModule();
        result.attestation = await att.verifyAttestation({
          attestation: rec.attestation,
          publicKey: rec.publicKey,
          roots: this.#trust.roots,
          times,
        });
      } catch (e) {
        // The checker reports a bad chain in its result; an ErstError here is an
        // attestation it refused outright, anything else is a bug (ERR_INTERNAL).
        if (!isErstError(e)) throw e;
        result.errors.push({
          code: 'ERR_ATTESTATION_INVALID',
          message: `the attestation could not be checked: ${e.message}`,
        });
        return result;
      }
      if (this.#trust.roots.length === 0) {
        const problems = result.attestation.errors.map((e) => e.code);
        result.warnings.push({
          code: 'WARN_ATTESTATION_NOT_CHECKED',
          message:
            `the record carries a hardware attestation, but no attestation root was pinned: its claims are ` +
            `unproven${problems.length ? ` (and it does not hold up: ${[...new Set(problems)].join(', ')})` : ''}`,
        });
      } else if (!result.attestation.attested) {
        for (const e of result.attestation.errors) {
          result.errors.push(
            isVerifyErrorCode(e.code)
              ? { code: e.code, message: e.message }
              : { code: 'ERR_ATTESTATION_INVALID', message: `${e.code}: ${e.message}` },
          );
        }
      }
    }

    // Trust
    this.#decideTrust(rec, result, genTime, logOutcome?.checkpointToken !== undefined);
    result.valid = result.errors.length === 0;
    return result;
  }

  async #checkSignature(
    rec: SignedRecord,
    signature: Uint8Array,
    digest: Uint8Array,
    digestHex: string,
    result: VerifyResult,
  ): Promise<boolean> {
    const message = rec.signedMessage === 'digest' ? digest : utf8Bytes(digestHex);
    if (rec.algorithm === 'ecdsa-p256') return verifyP256(rec.publicKey.raw, rec.hashInput, digest, signature);
    if (!this.#checkEd25519Key(rec, result)) return false;
    if (!signatureIsStrictlyEncoded(signature)) return false;
    return (await this.#backend).verify(rec.publicKey.raw, message, signature);
  }

  /** False, with ERR_PUBLIC_KEY_WEAK, for a key under which no signature counts. */
  #checkEd25519Key(rec: SignedRecord, result: VerifyResult): boolean {
    const verdict = ed25519Verdict(rec.publicKey, resultKeyId(result));
    if (verdict === 'ok') return true;
    result.errors.push({
      code: 'ERR_PUBLIC_KEY_WEAK',
      message:
        `the record's Ed25519 public key is ` +
        `${verdict === 'small-order' ? 'a small-order point' : verdict === 'non-canonical' ? 'not canonically encoded' : 'not a point on the curve'}: no signature under it is accepted`,
    });
    return false;
  }

  /**
   * `genTime`: a verified timestamp token's (the record's own, else its checkpoint's), which windows are checked
   * against instead of the signer's own clock. `checkpointToken`: whether the record's checkpoint carries a token.
   */
  #decideTrust(rec: SignedRecord, result: VerifyResult, genTime: Date | undefined, checkpointToken: boolean): void {
    const entries = this.#trust.lookup(rec.publicKey, resultKeyId(result));
    const attested = result.attestation?.attested === true;
    if (entries.length > 0) {
      const windowed = entries.some((e) => e.notBefore || e.notAfter);
      // Read only against a validity window (parsing a date per record was a measurable part of a pinned run).
      // Not new Date(): an Invalid Date compares false both ways, so it would fall inside every window.
      const at = windowed ? (genTime ?? (rec.timestamp ? parseRfc3339(rec.timestamp) : undefined)) : undefined;
      const match = entries.find((e) => !(e.notBefore || e.notAfter) || (at !== undefined && withinWindow(e, at)));
      if (match) {
        result.trust = 'pinned';
        if (match.label) result.key!.label = match.label;
        if (windowed && rec.uncovered.includes('timestamp')) {
          result.warnings.push({
            code: 'WARN_WINDOW_ON_UNSIGNED_TIMESTAMP',
            message:
              `key validity was checked against the timestamp of a ${rec.format} record, which the signature ` +
              `does not cover`,
          });
        }
      } else {
        result.trust = 'untrusted';
        const e = entries[0]!;
        result.errors.push({
          code: 'ERR_KEY_OUTSIDE_VALIDITY',
          message:
            `key ${e.label ? `"${e.label}" ` : ''}is pinned only from ` +
            `${e.notBefore?.toISOString() ?? 'the beginning'} to ${e.notAfter?.toISOString() ?? 'no end'}, and the ` +
            (genTime
              ? `TSA timestamped the record at ${genTime.toISOString()}`
              : `record is dated ${rec.timestamp ?? '(no timestamp)'}`),
        });
      }
    } else if (attested) {
      result.trust = 'attested';
    } else if (this.#trust.hasAnchors) {
      result.trust = 'untrusted';
      result.errors.push({
        code: 'ERR_KEY_NOT_TRUSTED',
        message:
          `the record is signed by ${rec.algorithm} key ${result.key!.public_key}, which is not ` +
          `pinned${this.#trust.roots.length ? ' and not attested to a pinned root' : ''}`,
      });
    } else {
      result.trust = 'embedded-only';
      result.warnings.push({
        code: 'WARN_KEY_NOT_PINNED',
        message:
          `integrity only: the ${rec.signature ? 'signature' : "log proof's checkpoint"} verifies under the key the ` +
          'record names, but no key was pinned; this proves someone signed it, not who',
      });
    }
    if (this.#requireAttestation && !attested) {
      result.errors.push({
        code: 'ERR_ATTESTATION_REQUIRED',
        message: rec.attestation
          ? "attestation is required, and this record's attestation does not prove its key to a pinned root"
          : 'attestation is required, and this record carries none',
      });
    }
    if (this.#trust.requireTimestamp && !genTime) {
      result.errors.push({
        code: 'ERR_TIMESTAMP_REQUIRED',
        message:
          !rec.timestampToken && !checkpointToken
            ? 'a trusted timestamp is required, and neither this record nor its log checkpoint carries a timestamp token'
            : this.#trust.tsaRoots.length === 0
              ? 'a trusted timestamp is required, and no TSA root was pinned to verify a timestamp token against'
              : 'a trusted timestamp is required, and no timestamp token of this record or its checkpoint verified',
      });
    }
  }

  #attestationModule(): Promise<typeof import('@erst/attestation')> {
    this.#attestation ??= import('@erst/attestation');
    return this.#attestation;
  }

  #timestampModule(): Promise<typeof import('@erst/timestamp')> {
    this.#timestamp ??= import('@erst/timestamp');
    return this.#timestamp;
  }

  /** Verifies many records with bounded concurrency; results keep input order. */
  async *verifyStream(
    inputs: Iterable<VerifyInput> | AsyncIterable<VerifyInput>,
    options: { concurrency?: number } = {},
  ): AsyncGenerator<VerifyResult> {
    // Parsing and hashing run on this thread; signature checks run in
    // WebCrypto's thread pool, so keeping several in flight uses every core.
    const concurrency = Math.max(1, options.concurrency ?? 64);
    const inFlight: Promise<VerifyResult>[] = [];
    for await (const input of inputs as AsyncIterable<VerifyInput>) {
      inFlight.push(this.verify(input));
      if (inFlight.length >= concurrency) yield await inFlight.shift()!;
    }
    while (inFlight.length > 0) yield await inFlight.shift()!;
  }

  async verifyMany(
    inputs: Iterable<VerifyInput> | AsyncIterable<VerifyInput>,
    options: { concurrency?: number } = {},
  ): Promise<VerifyResult[]> {
    const out: VerifyResult[] = [];
    for await (const r of this.verifyStream(inputs, options)) out.push(r);
    return out;
  }
}

/**
 * Verifies one record (text, bytes or parsed JSON). Never throws: a bad record
 * resolves with coded errors; bad options reject with the Verifier's codes.
 */
export async function verifyAuditLog(input: VerifyInput, options: VerifyOptions = {}): Promise<VerifyResult> {
  return new Verifier(options).verify(input);
}

/** Verifies many records with one set of options; results keep input order. Bad options reject, as for verifyAuditLog. */
export async function verifyMany(
  inputs: Iterable<VerifyInput> | AsyncIterable<VerifyInput>,
  options: VerifyOptions & { concurrency?: number } = {},
): Promise<VerifyResult[]> {
  return new Verifier(options).verifyMany(inputs, options);
}
