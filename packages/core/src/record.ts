import type { Algorithm } from './keys.js';
import type { JsonObject } from './json.js';

/** Record formats this toolkit reads. New records are written as 2.0.0 (default) or 1.1.0. */
export type RecordFormat = '2.0.0' | '1.1.0' | '1.0.0' | 'erst-ts';
export const RECORD_FORMATS: readonly RecordFormat[] = ['2.0.0', '1.1.0', '1.0.0', 'erst-ts'];
export type WritableSchema = '2.0.0' | '1.1.0';

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

export type AuditRecord = AuditRecordV2 | AuditRecordV1;
