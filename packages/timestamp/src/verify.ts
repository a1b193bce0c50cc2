import { ErstError, bytesToHex, equalBytes, isLowerHex } from '@erst/core';
import { HASH_NAMES, OID, bytes, integerHex, unpadded } from './asn1.js';
import { chainVerdict, clearChainCache, datesIssue, parseRoots, raise } from './chain.js';
import { checkImprint, optionError } from './request.js';
import { clearKeyCache, signatureIssue } from './signature.js';
import { type DecodedToken, clearCertificateCache, contentsOf, decodeToken, malformed, tokenBytes } from './token.js';

export interface TimestampCheck {
  /** The 32-byte SHA-256 hash the token must be over: a record's `trace_hash`, or a checkpoint's. */
  imprint: Uint8Array;
  /** Pinned TSA roots, PEM (a text may hold several certificates). The token's chain must end at one. */
  tsaRoots: readonly string[];
  /** The nonce the request carried (hex, as `createTimestampRequest` returned it), when the caller has it. */
  nonce?: string;
  /**
   * WebCrypto for signatures and digests other than SHA-256 (@erst/core's).
   * Default: globalThis.crypto, except that in Node each token's own
   * signature is checked with node:crypto (synchronous, the same OpenSSL).
   */
  crypto?: Crypto;
}

/** What a verified token establishes. */
export interface TimestampInfo {
  /** genTime, ISO 8601 UTC: the TSA's word that the imprint existed then. */
  timestamped_at: string;
  /** The TSA certificate's subject name. */
  tsa: string;
  /** The TSA's stated accuracy of genTime in milliseconds, or null when it states none. */
  accuracy: number | null;
  /** The token's serial number, lowercase hex. */
  serial: string;
  /** The TSA policy the token was issued under (an OID). */
  policy: string;
}

function imprintStep(token: DecodedToken, imprint: Uint8Array): void {
  const mi = token.tstInfo.messageImprint;
  const alg = mi.hashAlgorithm.algorithm;
  if (alg !== OID.sha256) {
    throw new ErstError(
      'ERR_TIMESTAMP_IMPRINT_MISMATCH',
      `the token is over a ${HASH_NAMES[alg] ?? alg} hash; erst timestamps SHA-256 hashes`,
    );
  }
  if (!equalBytes(bytes(mi.hashedMessage.buffer), imprint)) {
    throw new ErstError(
      'ERR_TIMESTAMP_IMPRINT_MISMATCH',
      `the token is over another hash than ${bytesToHex(imprint)}: it timestamps something else`,
    );
  }
}

function nonceStep(token: DecodedToken, nonce: string | undefined): void {
  if (nonce === undefined) return;
  const got = token.tstInfo.nonce;
  if (!got || integerHex(got) !== unpadded(nonce)) {
    throw new ErstError(
      'ERR_TIMESTAMP_NONCE_MISMATCH',
      got
        ? 'the token carries another nonce than the request sent'
        : 'the token carries no nonce; the request sent one',
    );
  }
}

/** The token answers the request: over `imprint`, carrying `nonce` (what a client checks before any trust). */
export function checkAnswer(token: DecodedToken, imprint: Uint8Array, nonce: string): void {
  imprintStep(token, imprint);
  nonceStep(token, nonce);
}

/**
 * Verifies an RFC 3161 TimeStampToken (DER, or its canonical base64) for
 * `check.imprint`, in this order: structure and bounds, the imprint, the
 * nonce (when given), the TSA certificate's extended key usage and its chain
 * to a pinned root, the CMS signature, and every chain certificate's
 * validity at genTime. Resolves with what the token establishes; rejects
 * with the first failure's code.
 *
 * The EKU and chain checks are cached per distinct (TSA certificate,
 * certificates carried, pinned roots): many tokens from one TSA cost one
 * chain check, and one signature each.
 *
 * @throws ERR_TIMESTAMP_MALFORMED (not a token; over MAX_TOKEN_BYTES or
 *   MAX_TOKEN_CERTIFICATES; no TSA certificate carried),
 *   ERR_TIMESTAMP_IMPRINT_MISMATCH, ERR_TIMESTAMP_NONCE_MISMATCH,
 *   ERR_TIMESTAMP_TSA_EKU, ERR_TIMESTAMP_UNTRUSTED_ROOT,
 *   ERR_TIMESTAMP_CHAIN_INVALID, ERR_TIMESTAMP_SIGNATURE_INVALID;
 *   ERR_OPTIONS_INVALID naming `imprint`, `tsaRoots` or `nonce`.
 * @example
 * const info = await verifyTimestampToken(record.timestamp_token, { imprint: hexToBytes(record.trace_hash), tsaRoots });
 * info.timestamped_at; // '2026-12-01T05:20:34.000Z'
 */
export async function verifyTimestampToken(token: Uint8Array | string, check: TimestampCheck): Promise<TimestampInfo> {
  const imprint = checkImprint(check.imprint);
  if (
    check.nonce !== undefined &&
    (typeof check.nonce !== 'string' || !isLowerHex(check.nonce) || check.nonce === '')
  ) {
    throw optionError('nonce', 'must be the lowercase hex nonce the request carried');
  }
  const roots = parseRoots(check.tsaRoots);
  const crypto = check.crypto ?? globalThis.crypto;
  // Without a caller's WebCrypto, the per-token signature may use node:crypto (see signatureIssue).

  const decoded = decodeToken(tokenBytes(token));
  imprintStep(decoded, imprint);
  nonceStep(decoded, check.nonce);
  const signer = decoded.signer;
  if (!signer) throw malformed('the token does not carry the TSA certificate that signed it');

  const verdict = await chainVerdict(signer, decoded.certificates, roots, crypto);
  if (verdict.issue) raise(verdict.issue);
  const sig = await signatureIssue(decoded, signer, check.crypto);
  if (sig) raise(sig);
  const dates = datesIssue(verdict.chain, decoded.tstInfo.genTime);
  if (dates) raise(dates);

  const c = contentsOf(decoded);
  return {
    timestamped_at: c.genTime,
    tsa: signer.cert.subject,
    accuracy: c.accuracy,
    serial: c.serial,
    policy: c.policy,
  };
}

/** Empties the certificate, chain and key caches (tests and benchmarks). */
export function clearTimestampCache(): void {
  clearCertificateCache();
  clearChainCache();
  clearKeyCache();
}
