import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex, hexToBytes, isLowerHex, utf8Bytes } from './bytes.js';
import { ErstError } from './errors.js';
import { hashInputTextV1_1 } from './hash-input.js';
import { canonicalize } from './jcs.js';
import type { JsonObject } from './json.js';
import { publicKeyFromRaw } from './keys.js';
import { isTimestampTokenText, parseAttestation, parseErstPayload } from './parse.js';
import {
  type AuditRecord,
  type AuditRecordV1,
  type AuditRecordV2,
  type AuditRecordV2_1,
  type HardwareAttestation,
  MAX_LOG_PROOF_BYTES,
  MAX_TIMESTAMP_TOKEN_BYTES,
  type WritableSchema,
} from './record.js';
import { sha256Utf8 } from './sha256.js';
import type { Signer } from './signer.js';

export interface SignInput {
  /** 64 lowercase hex characters. */
  transactionHash: string;
  /** Any JSON object for 2.0.0; the erst payload shape for 1.1.0. */
  payload: JsonObject;
}

export interface SignOptions {
  /** Record format to write; default 2.0.0. */
  schema?: WritableSchema;
  /**
   * 2.1.0 only: `false` leaves out the record's own signature (the signer is
   * asked only for its public key and attestation), for records a log proof
   * will seal (see `withLogProof`). Default true.
   */
  recordSignature?: boolean;
  /**
   * Attestation to embed under the signature. `undefined` asks the signer for
   * one; `null` leaves it out.
   */
  attestation?: HardwareAttestation | null;
  /** Clock, for reproducible records in tests. */
  now?: () => Date;
}

const TX_HASH = /^[0-9a-f]{64}$/;

/**
 * Builds a record in the requested format, hashes it and signs it. A 2.1.0
 * record comes back without `log_proof` (the log adds it: `withLogProof`),
 * and without `signature` when `recordSignature` is false.
 *
 * Throws ERR_PAYLOAD_INVALID (transaction hash, payload), ERR_OPTIONS_INVALID
 * (an unknown `schema`, a `recordSignature` that is not a boolean or is false
 * for another schema), ERR_ALGORITHM_UNSUPPORTED (1.1.0 with a non-Ed25519
 * signer), and whatever the signer throws.
 */
export async function generateWithSigner(
  signer: Signer,
  input: SignInput,
  options: SignOptions & { schema: '2.1.0' },
): Promise<AuditRecordV2_1>;
export async function generateWithSigner(
  signer: Signer,
  input: SignInput,
  options?: SignOptions & { schema?: '2.0.0' | '1.1.0' },
): Promise<AuditRecordV2 | AuditRecordV1>;
export async function generateWithSigner(signer: Signer, input: SignInput, options?: SignOptions): Promise<AuditRecord>;
export async function generateWithSigner(
  signer: Signer,
  input: SignInput,
  options: SignOptions = {},
): Promise<AuditRecord> {
  const schema = options.schema ?? '2.0.0';
  if (!TX_HASH.test(input.transactionHash)) {
    throw new ErstError('ERR_PAYLOAD_INVALID', 'transaction hash must be 64 lowercase hex characters', {
      details: { field: 'transaction_hash' },
    });
  }
  if (typeof input.payload !== 'object' || input.payload === null || Array.isArray(input.payload)) {
    throw new ErstError('ERR_PAYLOAD_INVALID', 'payload must be a JSON object', { details: { field: 'payload' } });
  }
  if (schema !== '2.1.0' && schema !== '2.0.0' && schema !== '1.1.0') {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `unknown \`schema\` ${JSON.stringify(schema)}; use 2.0.0, 2.1.0 or 1.1.0`,
      {
        details: { options: ['schema'] },
      },
    );
  }
  const recordSignature = options.recordSignature ?? true;
  if (typeof recordSignature !== 'boolean') {
    throw new ErstError('ERR_OPTIONS_INVALID', '`recordSignature` must be a boolean', {
      details: { options: ['recordSignature'] },
    });
  }
  // Only a 2.1.0 record can be sealed by a log proof instead; any other would verify as nothing.
  if (!recordSignature && schema !== '2.1.0') {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`recordSignature\` false needs \`schema\` 2.1.0, not ${schema}`, {
      details: { options: ['recordSignature', 'schema'] },
    });
  }
  const now = (options.now ?? (() => new Date()))();
  let attestation =
    options.attestation === undefined ? await signer.attestation?.() : (options.attestation ?? undefined);
  if (attestation) {
    // erst Go's 1.1.0 struct has no key_attributes: its hash input could not cover them.
    if (schema === '1.1.0' && attestation.key_attributes) {
      const { key_attributes: _dropped, ...v1 } = attestation;
      attestation = v1;
    }
    attestation = parseAttestation(attestation as unknown as JsonObject, schema !== '1.1.0');
  }
  const publicKey = await signer.publicKey();

  if (schema === '1.1.0') {
    if (signer.algorithm !== 'ed25519') {
      throw new ErstError(
        'ERR_ALGORITHM_UNSUPPORTED',
        `schema 1.1.0 supports only Ed25519 keys, not ${signer.algorithm}`,
      );
    }
    const payload = withPayloadCode(() => parseErstPayload(input.payload));
    const digest = sha256Utf8(hashInputTextV1_1(payload, attestation));
    const signature = await signer.sign(digest);
    const record: AuditRecordV1 = {
      version: '1.1.0',
      timestamp: goRfc3339Nano(now),
      transaction_hash: input.transactionHash,
      trace_hash: bytesToHex(digest),
      signature: bytesToHex(signature),
      public_key: bytesToHex(publicKey.raw),
      payload,
    };
    if (attestation) record.hardware_attestation = attestation;
    return record;
  }

  const timestamp = now.toISOString();
  const publicKeyHex = bytesToHex(publicKey.raw);
  // The hash input is built with its keys already in JCS order, so only the
  // payload needs sorting; the record is then written in reading order.
  const covered: Record<string, unknown> = { algorithm: signer.algorithm };
  if (attestation) covered.hardware_attestation = attestation;
  covered.payload = input.payload;
  covered.public_key = publicKeyHex;
  covered.timestamp = timestamp;
  covered.transaction_hash = input.transactionHash;
  covered.version = schema;
  const digest = sha256Utf8(canonicalize(covered));
  const signature = recordSignature ? bytesToHex(await signer.sign(digest)) : undefined;
  // Member order (docs/design.md): what is hashed, then the seals in the order they are made.
  return {
    version: schema,
    timestamp,
    transaction_hash: input.transactionHash,
    algorithm: signer.algorithm,
    public_key: publicKeyHex,
    payload: input.payload,
    ...(attestation ? { hardware_attestation: attestation } : {}),
    trace_hash: bytesToHex(digest),
    ...(signature === undefined ? {} : { signature }),
  } as AuditRecordV2 | AuditRecordV2_1;
}

/**
 * The 2.1.0 record with `log_proof` set to `proof` (the C2SP tlog-proof text
 * the log made for this record's `trace_hash`), as the last member whatever
 * the record's member order was, so the same record and proof always
 * serialize to the same bytes. A `log_proof` already there is replaced. The
 * proof is not checked here (that needs the log's key: @erst/verify does it).
 *
 * Throws ERR_OPTIONS_INVALID for a `record` that is not a 2.1.0 record, or a
 * `proof` that is not a non-empty string of at most MAX_LOG_PROOF_BYTES.
 */
export function withLogProof(record: AuditRecordV2_1, proof: string): AuditRecordV2_1 {
  checkV2_1(record, 'a log proof');
  if (typeof proof !== 'string' || proof === '' || utf8Bytes(proof).length > MAX_LOG_PROOF_BYTES) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `\`proof\` must be the tlog-proof text, non-empty and at most ${MAX_LOG_PROOF_BYTES} bytes`,
      { details: { options: ['proof'] } },
    );
  }
  return withSeal(record, 'log_proof', proof);
}

/**
 * The 2.1.0 record with `timestamp_token` set to `token` (standard base64 of
 * the DER TimeStampToken a TSA made over `timestampImprint(record)`), placed
 * after every other member and before `log_proof` (docs/design.md, member
 * order), so the same record and token always serialize to the same bytes. A
 * `timestamp_token` already there is replaced. The token is not checked here
 * (that needs pinned TSA roots: @erst/verify, with @erst/timestamp, does it).
 *
 * Throws ERR_OPTIONS_INVALID for a `record` that is not a 2.1.0 record, or a
 * `token` that is not canonical base64 of 1 to MAX_TIMESTAMP_TOKEN_BYTES bytes.
 */
export function withTimestampToken(record: AuditRecordV2_1, token: string): AuditRecordV2_1 {
  checkV2_1(record, 'a timestamp token');
  if (typeof token !== 'string' || !isTimestampTokenText(token)) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `\`token\` must be canonical standard base64 (with padding) of a DER TimeStampToken of 1 to ${MAX_TIMESTAMP_TOKEN_BYTES} bytes`,
      { details: { options: ['token'] } },
    );
  }
  return withSeal(record, 'timestamp_token', token);
}

/**
 * What a TSA is asked to timestamp for a 2.1.0 record: the 32 raw bytes of
 * its `trace_hash` (the TimeStampReq's SHA-256 `hashedMessage`). The token
 * then covers everything the hash input covers, and nothing made after it.
 *
 * Throws ERR_OPTIONS_INVALID for a `record` that is not a 2.1.0 record with a
 * `trace_hash` of 64 lowercase hex characters.
 */
export function timestampImprint(record: AuditRecordV2_1): Uint8Array {
  checkV2_1(record, 'a timestamp token');
  const hash = record.trace_hash;
  if (typeof hash !== 'string' || hash.length !== 64 || !isLowerHex(hash)) {
    throw new ErstError('ERR_OPTIONS_INVALID', "`record`'s trace_hash must be 64 lowercase hex characters", {
      details: { options: ['record'] },
    });
  }
  return hexToBytes(hash)!;
}

function checkV2_1(record: AuditRecordV2_1, what: string): void {
  if (typeof record !== 'object' || record === null || Array.isArray(record) || record.version !== '2.1.0') {
    throw new ErstError('ERR_OPTIONS_INVALID', `\`record\` must be a 2.1.0 record: only 2.1.0 carries ${what}`, {
      details: { options: ['record'] },
    });
  }
}

/** Seals made after `trace_hash`, in the order they are written last: each after the ones before it in this list. */
const LATE_SEALS = ['timestamp_token', 'log_proof'] as const;

/**
 * `record` with `seal` set to `value`: every other member in the record's own
 * order, then the late seals in LATE_SEALS order. defineProperty, not
 * assignment: a "__proto__" member stays a member.
 */
function withSeal(record: AuditRecordV2_1, seal: (typeof LATE_SEALS)[number], value: string): AuditRecordV2_1 {
  const out: Record<string, unknown> = {};
  const put = (k: string, v: unknown) =>
    Object.defineProperty(out, k, { value: v, enumerable: true, writable: true, configurable: true });
  for (const [k, v] of Object.entries(record)) {
    if (!(LATE_SEALS as readonly string[]).includes(k)) put(k, v);
  }
  for (const k of LATE_SEALS) {
    if (k === seal) put(k, value);
    else if (Object.hasOwn(record, k)) put(k, record[k]);
  }
  return out as unknown as AuditRecordV2_1;
}

function withPayloadCode<T>(fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    const msg = cause instanceof Error ? cause.message : String(cause);
    throw new ErstError('ERR_PAYLOAD_INVALID', `schema 1.1.0 needs the erst payload shape: ${msg}`, { cause });
  }
}

/** Go's time.RFC3339Nano: fractional seconds with trailing zeros trimmed. */
function goRfc3339Nano(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, 'Z');
}

/**
 * A software Ed25519 signer from a 32-byte seed, in pure JS (runs in
 * browsers). For Node, @erst/signer-memory signs natively and faster.
 */
export function seedSigner(seed: Uint8Array): Signer {
  if (seed.length !== 32) throw new ErstError('ERR_KEY_HEX_INVALID', `an Ed25519 seed is 32 bytes, not ${seed.length}`);
  const key = publicKeyFromRaw(ed25519.getPublicKey(seed), 'ed25519');
  return {
    algorithm: 'ed25519',
    publicKey: async () => key,
    sign: async (digest) => ed25519.sign(digest, seed),
  };
}

/** erst's `Generate`: sign with a raw Ed25519 seed. */
export function generate(
  input: SignInput,
  seed: Uint8Array,
  options: SignOptions & { schema: '2.1.0' },
): Promise<AuditRecordV2_1>;
export function generate(
  input: SignInput,
  seed: Uint8Array,
  options?: SignOptions & { schema?: '2.0.0' | '1.1.0' },
): Promise<AuditRecordV2 | AuditRecordV1>;
export function generate(input: SignInput, seed: Uint8Array, options?: SignOptions): Promise<AuditRecord>;
export function generate(input: SignInput, seed: Uint8Array, options: SignOptions = {}): Promise<AuditRecord> {
  return generateWithSigner(seedSigner(seed), input, options);
}
