import { ErstError } from './errors.js';
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
   * Safe to call concurrently. Anything but a 32-byte Uint8Array is refused
   * (a rejected promise with ERR_SIGNER_DIGEST_INVALID; see `digestError`).
   */
  sign(digest: Uint8Array): Promise<Uint8Array>;
  /** Hardware attestation for this key, when the signer has one. */
  attestation?(): Promise<HardwareAttestation | undefined>;
  /** Releases sessions and handles. Idempotent. */
  close?(): Promise<void>;
}

/**
 * Why `digest` cannot be signed, or undefined when it can. Every Signer calls
 * this first, so a caller's mistake (a hex string, a 64-byte hash) is refused
 * the same way whichever signer is behind the interface, before any key or
 * token is touched.
 */
export function digestError(digest: unknown): ErstError | undefined {
  if (!(digest instanceof Uint8Array)) {
    return new ErstError('ERR_SIGNER_DIGEST_INVALID', 'a digest to sign must be a Uint8Array');
  }
  if (digest.length !== 32) {
    return new ErstError('ERR_SIGNER_DIGEST_INVALID', `a digest to sign is 32 bytes (SHA-256), not ${digest.length}`, {
      details: { length: digest.length },
    });
  }
  return undefined;
}
