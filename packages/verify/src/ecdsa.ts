import { p256 } from '@noble/curves/nist.js';
import { hexToBytes } from '@erst/core';

// n/2 for P-256, big-endian: signatures must be low-S so each record has one valid signature.
const HALF_N = hexToBytes('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8')!;

export function isLowS(sig: Uint8Array): boolean {
  const s = sig.subarray(32, 64);
  for (let i = 0; i < 32; i++) {
    if (s[i]! !== HALF_N[i]!) return s[i]! < HALF_N[i]!;
  }
  return true;
}

/**
 * ECDSA P-256 with SHA-256 over `hashInput`, whose digest is `digest`
 * (records are signed with CKM_ECDSA over the digest, which is the same thing).
 */
export async function verifyP256(pub: Uint8Array, hashInput: Uint8Array, digest: Uint8Array, sig: Uint8Array): Promise<boolean> {
  if (sig.length !== 64 || !isLowS(sig)) return false;
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  if (subtle) {
    try {
      const key = await subtle.importKey('raw', pub as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
      return await subtle.verify({ name: 'ECDSA', hash: 'SHA-256' }, key, sig as BufferSource, hashInput as BufferSource);
    } catch {
      // fall through to noble: same answer, slower
    }
  }
  try {
    return p256.verify(sig, digest, pub, { prehash: false, lowS: true });
  } catch {
    return false;
  }
}
