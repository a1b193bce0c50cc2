import type { ErrorCode, HardwareAttestation, KeyAttributes, PublicKey } from '@erst/core';

export interface AttestationCheck {
  attestation: HardwareAttestation;
  /** The record's signing key: the leaf must certify exactly this key. */
  publicKey: PublicKey;
  /** PEM text of the roots the caller pinned. */
  roots: readonly string[];
  /** Instants at which every certificate must be valid (retrieved_at, the record's timestamp). */
  times: readonly Date[];
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  not_before: string;
  not_after: string;
  sha256_fingerprint: string;
  is_ca: boolean;
}

export interface VendorDetails {
  vendor: 'yubico';
  firmware?: string;
  serial?: number;
  pin_policy?: string;
  touch_policy?: string;
  form_factor?: string;
}

export interface AttestationReport {
  /** True only when the chain proves the signing key to a pinned root. */
  attested: boolean;
  /** The token's claims, reported as claims: not proof. */
  claims: { key_non_exportable: boolean; key_attributes?: KeyAttributes; token_info: string };
  chain: CertificateSummary[];
  vendor: VendorDetails | null;
  errors: { code: ErrorCode; message: string }[];
}
