import { base64ToBytes, bytesToBase64, bytesToHex, concatBytes, hexToBytes } from './bytes.js';
import { ErstError } from './errors.js';

export type Algorithm = 'ed25519' | 'ecdsa-p256';
export const ALGORITHMS: readonly Algorithm[] = ['ed25519', 'ecdsa-p256'];

export interface PublicKey {
  readonly algorithm: Algorithm;
  /** Ed25519: the 32-byte key. ECDSA P-256: the 65-byte uncompressed SEC1 point. */
  readonly raw: Uint8Array;
}

// RFC 8410 and RFC 5480 fix these SubjectPublicKeyInfo headers byte for byte,
// so a prefix comparison is an exact parse for the two key types we accept.
const ED25519_SPKI_PREFIX = hexToBytes('302a300506032b6570032100')!;
const P256_SPKI_PREFIX = hexToBytes('3059301306072a8648ce3d020106082a8648ce3d030107034200')!;

export const PUBLIC_KEY_LENGTH: Record<Algorithm, number> = { ed25519: 32, 'ecdsa-p256': 65 };

export function publicKeyFromRaw(raw: Uint8Array, algorithm?: Algorithm): PublicKey {
  const alg =
    algorithm ?? (raw.length === 32 ? 'ed25519' : raw.length === 65 && raw[0] === 4 ? 'ecdsa-p256' : undefined);
  if (!alg || raw.length !== PUBLIC_KEY_LENGTH[alg] || (alg === 'ecdsa-p256' && raw[0] !== 4)) {
    throw new ErstError(
      'ERR_PUBLIC_KEY_FORMAT',
      `public key is ${raw.length} bytes; expected 32 (Ed25519) or 65 starting 04 (uncompressed P-256)`,
    );
  }
  return { algorithm: alg, raw };
}

export function publicKeyFromSpki(der: Uint8Array): PublicKey {
  for (const [alg, prefix] of [
    ['ed25519', ED25519_SPKI_PREFIX],
    ['ecdsa-p256', P256_SPKI_PREFIX],
  ] as const) {
    if (der.length === prefix.length + PUBLIC_KEY_LENGTH[alg] && prefix.every((b, i) => der[i] === b)) {
      return publicKeyFromRaw(der.subarray(prefix.length), alg);
    }
  }
  throw new ErstError('ERR_PUBLIC_KEY_FORMAT', 'public key is not an Ed25519 or P-256 SubjectPublicKeyInfo');
}

export function publicKeyToSpki(key: PublicKey): Uint8Array {
  return concatBytes(key.algorithm === 'ed25519' ? ED25519_SPKI_PREFIX : P256_SPKI_PREFIX, key.raw);
}

// Exactly one block, base64 in lines, and at most a line break after it. Text
// around the block, or a second block, would leave it to each reader to pick
// the key that is meant.
const PEM_BLOCK = /^-----BEGIN PUBLIC KEY-----\r?\n((?:[A-Za-z0-9+/=]+\r?\n)+)-----END PUBLIC KEY-----(?:\r?\n)?$/;

/** An SPKI public key from a PEM text holding one "PUBLIC KEY" block and nothing else. */
export function publicKeyFromPem(pem: string): PublicKey {
  const m = PEM_BLOCK.exec(pem);
  const der = m ? base64ToBytes(m[1]!.replace(/\r?\n/g, '')) : undefined;
  if (!der) throw new ErstError('ERR_PUBLIC_KEY_FORMAT', 'not exactly one PEM "PUBLIC KEY" block');
  return publicKeyFromSpki(der);
}

export function publicKeyToPem(key: PublicKey): string {
  const b64 = bytesToBase64(publicKeyToSpki(key));
  return `-----BEGIN PUBLIC KEY-----\n${b64.replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PUBLIC KEY-----\n`;
}

/** A public key given by a person: hex (raw key) or SPKI PEM. */
export function parsePublicKey(text: string): PublicKey {
  const t = text.trim();
  if (t.includes('-----BEGIN')) return publicKeyFromPem(t);
  const raw = hexToBytes(t);
  if (!raw) throw new ErstError('ERR_PUBLIC_KEY_FORMAT', 'public key is neither hex nor a PEM "PUBLIC KEY" block');
  return publicKeyFromRaw(raw);
}

/** A stable identity for matching keys whatever encoding they came in. */
export function publicKeyId(key: PublicKey): string {
  return `${key.algorithm}:${bytesToHex(key.raw)}`;
}
