import { p256 } from '@noble/curves/nist.js';
import { bytesToHex, hexToBytes } from '@erst/core';

// n/2 for P-256, big-endian: signatures must be low-S so each record has one valid signature.
const HALF_N = hexToBytes('7fffffff800000007fffffffffffffffde737d56d38bcf4279dce5617e3192a8')!;

export function isLowS(sig: Uint8Array): boolean {
  const s = sig.subarray(32, 64);
  for (let i = 0; i < 32; i++) {
    if (s[i]! !== HALF_N[i]!) return s[i]! < HALF_N[i]!;
  }
  return true;
}

// Importing a key costs more than a verification; an archive reuses a handful of keys.
const p256Keys = new Map<string, Promise<CryptoKey>>();
function importP256(subtle: SubtleCrypto, pub: Uint8Array): Promise<CryptoKey> {
  const id = bytesToHex(pub);
  let key = p256Keys.get(id);
  if (!key) {
    if (p256Keys.size > 4096) p256Keys.clear();
    key = subtle.importKey('raw', pub as BufferSource, { name: 'ECDSA', namedCurve: 'P-256' }, false, ['verify']);
    // A key WebCrypto refuses is not cached: the noble fallback gives the answer.
    key.catch(() => p256Keys.delete(id));
    p256Keys.set(id, key);
  }
  return key;
}

/**
 * ECDSA P-256 with SHA-256 over `hashInput`, whose digest is `digest`
 * (records are signed with CKM_ECDSA over the digest, which is the same thing).
 */
export async function verifyP256(
  pub: Uint8Array,
  hashInput: Uint8Array,
  digest: Uint8Array,
  sig: Uint8Array,
): Promise<boolean> {
  if (sig.length !== 64 || !isLowS(sig)) return false;
  const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
  if (subtle) {
    try {
      const key = await importP256(subtle, pub);
      return await subtle.verify(
        { name: 'ECDSA', hash: 'SHA-256' },
        key,
        sig as BufferSource,
        hashInput as BufferSource,
      );
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
