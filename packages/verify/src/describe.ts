import type { AttestationReport, CertificateSummary, VendorDetails } from '@erst/attestation';
import {
  type Algorithm,
  type KeyAttributes,
  type RecordFormat,
  bytesToHex,
  isErstError,
  parseRecord,
  parseStrictJson,
  sha256,
  utf8Bytes,
} from '@erst/core';
import { keyIdHex, parseCheckpoint, parseNote, parseTlogProof } from '@erst/tlog';

/**
 * What a record is and what it claims, read without deciding whether to
 * believe it: the model behind `erst audit inspect` and the web page's record
 * view. Nothing here is verified except the hash comparison; `verifyAuditLog`
 * decides validity and trust.
 */
export interface RecordDescription {
  format: RecordFormat;
  algorithm: Algorithm;
  public_key: string;
  transaction_hash: string | null;
  timestamp: string | null;
  claimed_hash: string;
  computed_hash: string;
  hash_matches: boolean;
  /** What the signature is over, in words (1.0.0 and erst TS sign the hex text of the digest). */
  signs: string;
  /** False for a 2.1.0 record whose integrity rests on its log proof alone. */
  has_signature: boolean;
  hash_input_bytes: number;
  covered: readonly string[];
  uncovered: readonly string[];
  attestation: DescribedAttestation | null;
  log_proof: DescribedLogProof | null;
  timestamp_token: DescribedTimestampToken | null;
}

/** A 2.1.0 record's timestamp token as it reads: what the TSA's token says. Not verified (that needs pinned TSA roots). */
export interface DescribedTimestampToken {
  /** genTime, ISO 8601 UTC. */
  gen_time: string | null;
  /** The subject of the certificate that signed the token, when the token carries it. */
  tsa: string | null;
  /** Lowercase hex. */
  serial: string | null;
  /** The TSA policy OID. */
  policy: string | null;
  /** Milliseconds, or null when the token states none. */
  accuracy: number | null;
  /** The imprint's hash algorithm ("SHA-256", or an OID). */
  hash_algorithm: string | null;
  /** Whether the token is over this record's `trace_hash` (SHA-256, the same 32 bytes). */
  imprint_matches_trace_hash: boolean | null;
  /** Subjects of the certificates the token carries, in its order. */
  certificates: string[];
  /** Why the token does not parse (its error code), or null. */
  error: string | null;
}

export interface DescribedAttestation {
  token_info: string;
  key_non_exportable: boolean;
  key_attributes: KeyAttributes | null;
  retrieved_at: string;
  /** As the record states them, plus what each PEM holds (null where it does not parse). Not validated. */
  certificates: { subject: string; issuer: string; serial: string; parsed: CertificateSummary | null }[];
  vendor: VendorDetails | null;
  errors: AttestationReport['errors'];
}

/** The log proof as stated: where it says the record sits, and who signed the checkpoint. Not verified. */
export interface DescribedLogProof {
  origin: string | null;
  index: number | null;
  tree_size: number | null;
  /** Key name and hex key ID of each checkpoint signature. */
  signatures: { name: string; key_id: string }[];
  proof_hashes: number | null;
  /** The checkpoint's RFC 3161 timestamp token (the proof's `extra` line) as it reads, or null when there is none. */
  timestamp_token: DescribedCheckpointToken | null;
  /** Why the proof text does not parse (its error code), or null. */
  error: string | null;
}

/** A checkpoint's timestamp token as it reads: as a record's, but its imprint is compared with the checkpoint's. */
export interface DescribedCheckpointToken extends Omit<DescribedTimestampToken, 'imprint_matches_trace_hash'> {
  /** Whether the token is over SHA-256 of the checkpoint's note text (the signed text, without signature lines). */
  imprint_matches_checkpoint: boolean | null;
}

/**
 * Describes one record from its bytes (or text). Throws what parsing throws
 * (ERR_JSON_*, ERR_RECORD_*) for input that is not a record of a known format. Async because the
 * attestation and timestamp code load only for a record that carries an attestation or a token.
 */
export async function describeRecord(input: Uint8Array | string): Promise<RecordDescription> {
  const rec = parseRecord(parseStrictJson(input));
  const digest = bytesToHex(sha256(rec.hashInput));
  const att = rec.attestation;
  // Loaded only for a record with an attestation: certificate parsing is the heavy part, as in the Verifier.
  const described = att ? (await import('@erst/attestation')).describeAttestation(att) : null;
  return {
    format: rec.format,
    algorithm: rec.algorithm,
    public_key: bytesToHex(rec.publicKey.raw),
    transaction_hash: rec.transactionHash ?? null,
    timestamp: rec.timestamp ?? null,
    claimed_hash: rec.claimedHash,
    computed_hash: digest,
    hash_matches: digest === rec.claimedHash,
    signs:
      rec.signedMessage === 'digest'
        ? 'the 32-byte SHA-256 digest of the hash input'
        : 'the 64 ASCII hex characters of the digest',
    has_signature: rec.signature !== undefined,
    hash_input_bytes: rec.hashInput.length,
    covered: rec.covered,
    uncovered: rec.uncovered,
    attestation:
      att && described
        ? {
            token_info: att.token_info,
            key_non_exportable: att.key_non_exportable,
            key_attributes: att.key_attributes ?? null,
            retrieved_at: att.retrieved_at,
            certificates: (att.certificates ?? []).map((c, i) => ({
              subject: c.subject,
              issuer: c.issuer,
              serial: c.serial,
              parsed: described.certificates[i] ?? null,
            })),
            vendor: described.vendor,
            errors: described.errors,
          }
        : null,
    log_proof: rec.logProof === undefined ? null : await describeLogProof(rec.logProof),
    timestamp_token:
      rec.timestampToken === undefined ? null : await describeTimestampToken(rec.timestampToken, rec.claimedHash),
  };
}

/** Reads a timestamp token as far as it parses (@erst/timestamp loads only for a record with one); never thrown. */
async function describeTimestampToken(token: string, traceHash: string): Promise<DescribedTimestampToken> {
  const { imprint_matches, ...rest } = await describeToken(token, traceHash);
  return { ...rest, imprint_matches_trace_hash: imprint_matches };
}

/** A token as it reads, and whether its imprint is SHA-256 `expected` (hex). */
async function describeToken(
  token: string | Uint8Array,
  expected: string,
): Promise<Omit<DescribedTimestampToken, 'imprint_matches_trace_hash'> & { imprint_matches: boolean | null }> {
  const { inspectTimestampToken } = await import('@erst/timestamp');
  try {
    const c = inspectTimestampToken(token);
    return {
      gen_time: c.genTime,
      tsa: c.signer,
      serial: c.serial,
      policy: c.policy,
      accuracy: c.accuracy,
      hash_algorithm: c.hashAlgorithm,
      imprint_matches: c.hashAlgorithm === 'SHA-256' && c.imprint === expected,
      certificates: c.certificates,
      error: null,
    };
  } catch (error) {
    if (!isErstError(error)) throw error;
    return {
      gen_time: null,
      tsa: null,
      serial: null,
      policy: null,
      accuracy: null,
      hash_algorithm: null,
      imprint_matches: null,
      certificates: [],
      error: error.code,
    };
  }
}

/** Reads a tlog-proof as far as it parses: a damaged proof is described by its error code, never thrown. */
async function describeLogProof(text: string): Promise<DescribedLogProof> {
  const out: DescribedLogProof = {
    origin: null,
    index: null,
    tree_size: null,
    signatures: [],
    proof_hashes: null,
    timestamp_token: null,
    error: null,
  };
  try {
    const proof = parseTlogProof(text);
    out.index = proof.index;
    out.proof_hashes = proof.hashes.length;
    const note = parseNote(proof.checkpoint);
    out.signatures = note.signatures.map((s) => ({ name: s.name, key_id: keyIdHex(s.keyId) }));
    if (proof.extra) {
      const { imprint_matches, ...rest } = await describeToken(proof.extra, bytesToHex(sha256(utf8Bytes(note.text))));
      out.timestamp_token = { ...rest, imprint_matches_checkpoint: imprint_matches };
    }
    const checkpoint = parseCheckpoint(note.text);
    out.origin = checkpoint.origin;
    out.tree_size = checkpoint.size;
  } catch (error) {
    if (!isErstError(error)) throw error;
    out.error = error.code;
  }
  return out;
}
