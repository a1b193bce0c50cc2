import type { Algorithm } from './keys.js';
import type { JsonObject } from './json.js';

/** Record formats this toolkit reads. New records are written as 2.0.0 (default), 2.1.0 or 1.1.0. */
export type RecordFormat = '2.1.0' | '2.0.0' | '1.1.0' | '1.0.0' | 'erst-ts';
export const RECORD_FORMATS: readonly RecordFormat[] = ['2.1.0', '2.0.0', '1.1.0', '1.0.0', 'erst-ts'];
export type WritableSchema = '2.1.0' | '2.0.0' | '1.1.0';

/**
 * The longest `log_proof` a 2.1.0 record may carry, in UTF-8 bytes: a
 * tlog-proof's own bound in @erst/tlog (a signed checkpoint of at most
 * 256 KiB plus two 64 KiB lines), so a record is never refused for a proof
 * the log package would accept.
 */
export const MAX_LOG_PROOF_BYTES = 256 * 1024 + 2 * 64 * 1024;

/**
 * The largest `timestamp_token` a 2.1.0 record may carry, in DER bytes (its
 * base64 is at most 4/3 of that): @erst/timestamp's own cap on a token, so a
 * record is never refused for a token the timestamp package would read.
 */
export const MAX_TIMESTAMP_TOKEN_BYTES = 64 * 1024;

/** The payload erst exports; 1.x records require exactly this shape. */
export interface ErstPayload {
  envelope_xdr: string;
  result_meta_xdr: string;
  /** Go marshals a nil slice as `null`: distinct from `[]` in the hash input. */
  events: string[] | null;
  logs: string[] | null;
}

export interface AttestationCertificate {
  pem: string;
  subject: string;
  issuer: string;
  /** Lowercase hex. */
  serial: string;
}

/** PKCS#11 booleans read off the private key: claims by the token, not proof. */
export interface KeyAttributes {
  local?: boolean;
  sensitive?: boolean;
  always_sensitive?: boolean;
  extractable?: boolean;
  never_extractable?: boolean;
}
export const KEY_ATTRIBUTE_NAMES = [
  'local',
  'sensitive',
  'always_sensitive',
  'extractable',
  'never_extractable',
] as const;

export interface HardwareAttestation {
  /** Leaf first; the root (or the last certificate the token holds) last. */
  certificates: AttestationCertificate[] | null;
  token_info: string;
  key_non_exportable: boolean;
  retrieved_at: string;
  /** 2.0.0 records only. */
  key_attributes?: KeyAttributes;
}

export interface AuditRecordV2 {
  version: '2.0.0';
  timestamp: string;
  transaction_hash: string;
  algorithm: Algorithm;
  public_key: string;
  payload: JsonObject;
  hardware_attestation?: HardwareAttestation;
  trace_hash: string;
  signature: string;
}

/**
 * 2.0.0 plus an optional `log_proof` (the C2SP tlog-proof text for the
 * record's entry in a verifiable log) and an optional `timestamp_token` (an
 * RFC 3161 TimeStampToken over `trace_hash`). It carries `signature`,
 * `log_proof` or both; all three are made from `trace_hash`, so they and
 * `trace_hash` are outside the hash input.
 */
export interface AuditRecordV2_1 {
  version: '2.1.0';
  timestamp: string;
  transaction_hash: string;
  algorithm: Algorithm;
  public_key: string;
  payload: JsonObject;
  hardware_attestation?: HardwareAttestation;
  trace_hash: string;
  signature?: string;
  /** Standard base64 (with padding) of the DER TimeStampToken a TSA made over the 32 bytes of `trace_hash`. */
  timestamp_token?: string;
  log_proof?: string;
}

export interface AuditRecordV1 {
  version: '1.1.0' | '1.0.0';
  timestamp: string;
  transaction_hash: string;
  trace_hash: string;
  signature: string;
  public_key: string;
  payload: ErstPayload;
  hardware_attestation?: HardwareAttestation;
}

export interface LegacyTsRecord {
  trace: JsonObject;
  hash: string;
  signature: string;
  algorithm: 'Ed25519+SHA256';
  publicKey: string;
  signer: { provider: string };
  hardware_attestation?: HardwareAttestation;
}

export type AuditRecord = AuditRecordV2_1 | AuditRecordV2 | AuditRecordV1;
