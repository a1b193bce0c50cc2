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
  /**
   * Signs a whole message, for formats that sign text rather than a digest:
   * a C2SP signed note (a log checkpoint) is signed over its text with
   * Ed25519. Ed25519: the RFC 8032 signature of the message. ECDSA P-256:
   * exactly `sign(sha256(message))`. At most MAX_SIGN_MESSAGE_BYTES; anything
   * else (or an empty message) is refused with ERR_SIGNER_MESSAGE_INVALID (see
   * `messageError`).
   * Optional, because a digest is all a record needs; without it a signer
   * cannot sign an Ed25519 checkpoint.
   */
  signMessage?(message: Uint8Array): Promise<Uint8Array>;
  /** Hardware attestation for this key, when the signer has one. */
  attestation?(): Promise<HardwareAttestation | undefined>;
  /** Releases sessions and handles. Idempotent. */
  close?(): Promise<void>;
}

/**
 * How a signer signs on other threads of this process (a token's:
 * `Pkcs11Signer.threadSigning` of @erst/signer-pkcs11; used by
 * @erst/batch-sign's signing threads): each thread imports `module` and calls
 * its export `openThreadSigner(data[i])`, which returns a synchronous signer
 * of 32-byte digests (the same signatures as the signer's `sign`; it throws an
 * ErstError-shaped error to stop the batch). `data` holds one entry per
 * thread that may sign, the calling thread included, structured-cloned to it;
 * `release` is called once none signs any more (their threads have exited).
 */
export interface ThreadSigning<Data = unknown> {
  readonly module: string;
  readonly data: readonly Data[];
  release(): Promise<void>;
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

/** The largest message `Signer.signMessage` takes: a checkpoint note is a few hundred bytes. */
export const MAX_SIGN_MESSAGE_BYTES = 64 * 1024;

/** Why `message` cannot be signed by `signMessage`, or undefined when it can; the counterpart of `digestError`. */
export function messageError(message: unknown): ErstError | undefined {
  if (!(message instanceof Uint8Array)) {
    return new ErstError('ERR_SIGNER_MESSAGE_INVALID', 'a message to sign must be a Uint8Array');
  }
  // Refused by every signer, because tokens refuse it (SoftHSM's CKM_EDDSA: CKR_ARGUMENTS_BAD); no note is empty.
  if (message.length === 0) {
    return new ErstError('ERR_SIGNER_MESSAGE_INVALID', 'a message to sign is at least one byte');
  }
  if (message.length > MAX_SIGN_MESSAGE_BYTES) {
    return new ErstError(
      'ERR_SIGNER_MESSAGE_INVALID',
      `a message to sign is at most ${MAX_SIGN_MESSAGE_BYTES} bytes, not ${message.length}`,
      { details: { length: message.length } },
    );
  }
  return undefined;
}
