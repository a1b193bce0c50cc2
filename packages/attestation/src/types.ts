import type { ErrorCode, HardwareAttestation, KeyAttributes, PublicKey } from '@erst/core';

export interface AttestationCheck {
  attestation: HardwareAttestation;
  /** The record's signing key: the leaf must certify exactly this key. */
  publicKey: PublicKey;
  /** PEM text of the roots the caller pinned. */
  roots: readonly string[];
  /** Instants at which every certificate must be valid (retrieved_at, the record's timestamp). */
  times: readonly Date[];
  /**
   * Clock skew tolerated on validity dates, in seconds (default 300): a token's
   * clock and a CA's clock disagree by seconds in practice.
   */
  clockSkewSeconds?: number;
}

export interface CertificateSummary {
  subject: string;
  issuer: string;
  serial: string;
  not_before: string;
  not_after: string;
  sha256_fingerprint: string;
  is_ca: boolean;
  /** e.g. "Ed25519", "ECDSA P-256", "RSA 2048". */
  key_algorithm: string;
  /** SHA-256 of the SubjectPublicKeyInfo, lowercase hex. */
  key_sha256_fingerprint: string;
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

/** What signer-pkcs11 reads off a token, handed to buildAttestation. */
export interface CollectedAttestation {
  /** DER of the certificate that certifies the signing key (YubiKey: "X.509 Certificate for PIV Attestation <slot>"). */
  leaf: Uint8Array;
  /** Other certificates available (token objects, the f9 intermediate, --attestation-chain bundle), any order. */
  pool: readonly Uint8Array[];
  /** e.g. "YubiKey PIV #12345678 (Yubico (www.yubico.com))": label, model, manufacturer, serial. */
  tokenInfo: string;
  keyAttributes: KeyAttributes;
  /** When the attestation was read; default now. */
  retrievedAt?: Date;
  /** The signing key: when given, buildAttestation refuses a leaf that certifies another key. */
  publicKey?: PublicKey;
}
