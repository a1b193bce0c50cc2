import type { Algorithm, PublicKey } from './keys.js';
import type { HardwareAttestation } from './record.js';

/**
 * What signs a record. Implementations live in their own packages
 * (@erst/signer-memory, @erst/signer-pkcs11) and all pass one contract suite.
 */
export interface Signer {
  readonly algorithm: Algorithm;
  /** The key that verifies this signer's signatures. */
  publicKey(): Promise<PublicKey>;
  /**
   * Signs a 32-byte SHA-256 digest. Ed25519: the RFC 8032 signature of the
   * digest bytes. ECDSA P-256: raw r||s with low S, over the digest.
   * Safe to call concurrently.
   */
  sign(digest: Uint8Array): Promise<Uint8Array>;
  /** Hardware attestation for this key, when the signer has one. */
  attestation?(): Promise<HardwareAttestation | undefined>;
  /** Releases sessions and handles. Idempotent. */
  close?(): Promise<void>;
}
