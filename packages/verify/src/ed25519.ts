import { ed25519 } from '@noble/curves/ed25519.js';
import { sha512 } from '@noble/hashes/sha2.js';
import { ErstError, bytesToHex, concatBytes, equalBytes, hexToBytes } from '@erst/core';

/**
 * One Ed25519 policy for every backend.
 *
 * OpenSSL (behind WebCrypto) and @noble/curves disagree on crafted signatures:
 * small-order keys and R values, mixed-order points that pass only the
 * cofactored equation, and non-canonical encodings (ed25519-speccheck cases
 * 0, 1, 4, 5 and 9). A record must get one answer whichever runtime verifies
 * it, so before any backend runs we apply RFC 8032's strict reading:
 *
 *   1. S is canonical: S < L.
 *   2. A and R are canonical encodings (y < p; no "negative zero" x).
 *   3. Neither A nor R is a small-order point.
 *   4. The cofactorless equation holds: [S]B = R + [k]A, compared as
 *      encodings (what OpenSSL does; the noble backend does the same).
 *
 * Honest signatures always pass. Mixed-order public keys with honest-looking
 * signatures (speccheck case 3) pass on every backend.
 */

// Canonical encodings of the eight points of order dividing 8, plus the two
// non-canonical "negative zero" encodings of the points with x = 0.
const SMALL_ORDER_ENCODINGS = [
  '0100000000000000000000000000000000000000000000000000000000000000',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f',
  '0000000000000000000000000000000000000000000000000000000000000000',
  '0000000000000000000000000000000000000000000000000000000000000080',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a',
  'c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05',
  '26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85',
  '0100000000000000000000000000000000000000000000000000000000000080',
  'ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff',
].map((h) => hexToBytes(h)!);

// L = 2^252 + 27742317777372353535851937790883648493, little-endian.
const L_LE = hexToBytes('edd3f55c1a631258d69cf7a2def9de1400000000000000000000000000000010')!;

/** True when the little-endian 32-byte value is below the little-endian bound. */
function lessThanLE(value: Uint8Array, bound: Uint8Array): boolean {
  for (let i = 31; i >= 0; i--) {
    if (value[i]! !== bound[i]!) return value[i]! < bound[i]!;
  }
  return false;
}

/** y (the encoding without its sign bit) is below p = 2^255 - 19. */
function isCanonicalY(enc: Uint8Array): boolean {
  if ((enc[31]! & 0x7f) !== 0x7f) return true;
  for (let i = 30; i >= 1; i--) if (enc[i] !== 0xff) return true;
  return enc[0]! < 0xed;
}

function isSmallOrderEncoding(enc: Uint8Array): boolean {
  return SMALL_ORDER_ENCODINGS.some((s) => equalBytes(s, enc));
}

export type KeyVerdict = 'ok' | 'non-canonical' | 'small-order' | 'not-on-curve';

/** Checks a public key once; callers cache the verdict per key. */
export function checkEd25519PublicKey(pub: Uint8Array): KeyVerdict {
  if (pub.length !== 32 || !isCanonicalY(pub)) return 'non-canonical';
  if (isSmallOrderEncoding(pub)) return 'small-order';
  try {
    const point = ed25519.Point.fromBytes(pub, false);
    if (point.isSmallOrder()) return 'small-order';
  } catch {
    return 'not-on-curve';
  }
  return 'ok';
}

/** The per-signature part of the policy (cheap byte comparisons only). */
export function signatureIsStrictlyEncoded(sig: Uint8Array): boolean {
  if (sig.length !== 64) return false;
  const r = sig.subarray(0, 32);
  return lessThanLE(sig.subarray(32), L_LE) && isCanonicalY(r) && !isSmallOrderEncoding(r);
}

export interface Ed25519Backend {
  readonly name: 'webcrypto' | 'noble' | 'node';
  /** Verifies after the policy checks have passed; never throws for a bad signature. */
  verify(pub: Uint8Array, message: Uint8Array, sig: Uint8Array): Promise<boolean>;
}

const ORDER = ed25519.Point.Fn.ORDER;

function numberLE(bytes: Uint8Array): bigint {
  return BigInt(`0x${bytesToHex(Uint8Array.from(bytes).reverse()) || '0'}`);
}

/** Pure-JS backend: the cofactorless equation with @noble/curves arithmetic. */
export const nobleBackend: Ed25519Backend = {
  name: 'noble',
  async verify(pub, message, sig) {
    try {
      const A = ed25519.Point.fromBytes(pub, false);
      const r = sig.subarray(0, 32);
      const s = numberLE(sig.subarray(32));
      const k = numberLE(sha512(concatBytes(r, pub, message))) % ORDER;
      // [S]B - [k]A must encode to exactly R (cofactorless, as OpenSSL checks).
      const rCheck = ed25519.Point.BASE.multiplyUnsafe(s).subtract(A.multiplyUnsafe(k));
      return equalBytes(rCheck.toBytes(), r);
    } catch {
      return false;
    }
  },
};

type Subtle = SubtleCrypto;

/**
 * Bad key or signature bytes make the crypto libraries throw a DataError or
 * an OpenSSL error: that is a signature that does not verify. A TypeError or
 * RangeError means the call itself was wrong (a bug, a broken runtime), and
 * must surface as ERR_INTERNAL rather than read as "invalid signature".
 */
function isBug(e: unknown): boolean {
  return e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError;
}

function webcryptoBackend(subtle: Subtle): Ed25519Backend {
  const keys = new Map<string, Promise<CryptoKey>>();
  return {
    name: 'webcrypto',
    async verify(pub, message, sig) {
      const id = bytesToHex(pub);
      let key = keys.get(id);
      if (!key) {
        // Importing costs more than verifying; an archive reuses a handful of keys.
        if (keys.size > 4096) keys.clear();
        key = subtle.importKey('raw', pub as BufferSource, { name: 'Ed25519' }, false, ['verify']);
        keys.set(id, key);
        // A failed import is not kept: the next record with this key tries again.
        key.catch(() => keys.delete(id));
      }
      try {
        return await subtle.verify({ name: 'Ed25519' }, await key, sig as BufferSource, message as BufferSource);
      } catch (e) {
        if (isBug(e)) throw e;
        return false;
      }
    },
  };
}

type NodeCrypto = typeof import('node:crypto');

// RFC 8410: the SubjectPublicKeyInfo header of an Ed25519 key.
const ED25519_SPKI_PREFIX = hexToBytes('302a300506032b6570032100')!;

/**
 * node:crypto's synchronous Ed25519 (OpenSSL, the engine behind Node's
 * WebCrypto, so the same answers). It verifies on the calling thread: for
 * callers that run their own worker threads, it avoids WebCrypto's per-call
 * overhead and leaves libuv's thread pool to file I/O. Reached through
 * getBuiltinModule, so browser bundles never see node:crypto.
 */
function nodeBackend(nodeCrypto: NodeCrypto): Ed25519Backend {
  const keys = new Map<string, import('node:crypto').KeyObject>();
  return {
    name: 'node',
    async verify(pub, message, sig) {
      const id = bytesToHex(pub);
      let key = keys.get(id);
      try {
        if (!key) {
          if (keys.size > 4096) keys.clear();
          // Node takes any Uint8Array here; its typings say Buffer.
          const der = concatBytes(ED25519_SPKI_PREFIX, pub) as unknown as Buffer;
          key = nodeCrypto.createPublicKey({ key: der, format: 'der', type: 'spki' });
          keys.set(id, key);
        }
        return nodeCrypto.verify(null, message, key, sig);
      } catch (e) {
        if (isBug(e)) throw e;
        return false;
      }
    },
  };
}

// RFC 8032 section 7.1, test 2: used to probe whether WebCrypto has Ed25519.
const PROBE_PUB = hexToBytes('3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c')!;
const PROBE_MSG = hexToBytes('72')!;
const PROBE_SIG = hexToBytes(
  '92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00',
)!;

let autoBackend: Promise<Ed25519Backend> | undefined;

export const BACKEND_NAMES = ['auto', 'webcrypto', 'noble', 'node'] as const;
export type BackendPreference = (typeof BACKEND_NAMES)[number];

function subtleCrypto(): SubtleCrypto | undefined {
  return (globalThis.crypto as Crypto | undefined)?.subtle;
}

function nodeCryptoModule(): NodeCrypto | undefined {
  return (globalThis as { process?: { getBuiltinModule?: (id: string) => unknown } }).process?.getBuiltinModule?.(
    'node:crypto',
  ) as NodeCrypto | undefined;
}

/**
 * Why `preference` cannot run in this runtime: ERR_OPTIONS_INVALID for a name
 * that is no backend, ERR_CRYPTO_UNAVAILABLE when the crypto it needs is
 * missing (WebCrypto is absent outside secure browser contexts). Undefined
 * when it can run; `auto` and `noble` always can.
 */
export function backendUnavailable(preference: unknown): ErstError | undefined {
  if (!(BACKEND_NAMES as readonly unknown[]).includes(preference)) {
    return new ErstError('ERR_OPTIONS_INVALID', `backend must be one of ${BACKEND_NAMES.join(', ')}`);
  }
  if (preference === 'webcrypto' && !subtleCrypto()) {
    return new ErstError(
      'ERR_CRYPTO_UNAVAILABLE',
      'backend "webcrypto": this runtime has no WebCrypto (globalThis.crypto.subtle)',
    );
  }
  if (preference === 'node' && !nodeCryptoModule()) {
    return new ErstError('ERR_CRYPTO_UNAVAILABLE', 'backend "node": this runtime has no node:crypto');
  }
  return undefined;
}

/**
 * WebCrypto where the runtime has Ed25519 (Node 20, current browsers), noble
 * otherwise. `node` (Node only) asks for node:crypto's synchronous verify.
 * Rejects with the codes of backendUnavailable.
 */
export function selectBackend(preference: BackendPreference = 'auto'): Promise<Ed25519Backend> {
  const unavailable = backendUnavailable(preference);
  if (unavailable) return Promise.reject(unavailable);
  if (preference === 'noble') return Promise.resolve(nobleBackend);
  if (preference === 'node') return Promise.resolve(nodeBackend(nodeCryptoModule()!));
  const subtle = subtleCrypto();
  if (preference === 'webcrypto') return Promise.resolve(webcryptoBackend(subtle!));
  autoBackend ??= (async () => {
    if (!subtle) return nobleBackend;
    const candidate = webcryptoBackend(subtle);
    try {
      return (await candidate.verify(PROBE_PUB, PROBE_MSG, PROBE_SIG)) ? candidate : nobleBackend;
    } catch {
      return nobleBackend;
    }
  })();
  return autoBackend;
}
