import { ed25519 } from '@noble/curves/ed25519.js';
import { bytesToHex } from './bytes.js';
import { ErstError } from './errors.js';
import { hashInputTextV1_1 } from './hash-input.js';
import { canonicalize } from './jcs.js';
import type { JsonObject } from './json.js';
import { publicKeyFromRaw } from './keys.js';
import { parseAttestation, parseErstPayload } from './parse.js';
import type { AuditRecordV1, AuditRecordV2, HardwareAttestation, WritableSchema } from './record.js';
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
   * Attestation to embed under the signature. `undefined` asks the signer for
   * one; `null` leaves it out.
   */
  attestation?: HardwareAttestation | null;
  /** Clock, for reproducible records in tests. */
  now?: () => Date;
}

const TX_HASH = /^[0-9a-f]{64}$/;

/** Builds a record in the requested format, hashes it and signs it. */
export async function generateWithSigner(
  signer: Signer,
  input: SignInput,
  options: SignOptions = {},
): Promise<AuditRecordV2 | AuditRecordV1> {
  const schema = options.schema ?? '2.0.0';
  if (!TX_HASH.test(input.transactionHash)) {
    throw new ErstError('ERR_PAYLOAD_INVALID', 'transaction hash must be 64 lowercase hex characters', {
      details: { field: 'transaction_hash' },
    });
  }
  if (typeof input.payload !== 'object' || input.payload === null || Array.isArray(input.payload)) {
    throw new ErstError('ERR_PAYLOAD_INVALID', 'payload must be a JSON object', { details: { field: 'payload' } });
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
    attestation = parseAttestation(attestation as unknown as JsonObject, schema === '2.0.0');
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
  if (schema !== '2.0.0') {
    throw new ErstError('ERR_OPTIONS_INVALID', `unknown \`schema\` ${JSON.stringify(schema)}; use 2.0.0 or 1.1.0`, {
      details: { options: ['schema'] },
    });
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
  covered.version = '2.0.0';
  const digest = sha256Utf8(canonicalize(covered));
  const signature = await signer.sign(digest);
  return {
    version: '2.0.0',
    timestamp,
    transaction_hash: input.transactionHash,
    algorithm: signer.algorithm,
    public_key: publicKeyHex,
    payload: input.payload,
    ...(attestation ? { hardware_attestation: attestation } : {}),
    trace_hash: bytesToHex(digest),
    signature: bytesToHex(signature),
  };
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
  options: SignOptions = {},
): Promise<AuditRecordV2 | AuditRecordV1> {
  return generateWithSigner(seedSigner(seed), input, options);
}
