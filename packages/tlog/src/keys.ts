import {
  ErstError,
  type PublicKey,
  type Signer,
  bytesToBase64,
  bytesToHex,
  concatBytes,
  isErstError,
  publicKeyFromRaw,
  publicKeyFromSpki,
  publicKeyToSpki,
  sha256,
  utf8Bytes,
} from '@erst/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { decodeBase64 } from './text.js';

/** signed-note signature types: 0x01 Ed25519 over the note text; 0x02 ECDSA (transparency-dev/witness) over its SHA-256. */
export const SIGNATURE_TYPE = { ed25519: 0x01, 'ecdsa-p256': 0x02 } as const;

/** A key that checks note signatures: one per (name, key ID) pair, as signed-note identifies keys. */
export interface NoteVerifier {
  readonly name: string;
  /** The uint32 key ID that prefixes each signature. */
  readonly keyId: number;
  readonly publicKey: PublicKey;
  /** False for a signature that does not verify (never throws for bad signature bytes). */
  verify(message: Uint8Array, signature: Uint8Array): boolean;
}

/**
 * What signs notes: a name, a key ID, and a function over the note text's
 * bytes returning the signature as the type defines it (Ed25519: 64 bytes;
 * ECDSA: ASN.1 DER over SHA-256 of the text). An HSM or a remote service
 * fits behind `sign`.
 */
export interface NoteSigner {
  readonly name: string;
  readonly keyId: number;
  /** The key that verifies this signer's notes, when known (`noteSigner` and `noteSignerFromSigner` set it). */
  readonly publicKey?: PublicKey;
  sign(message: Uint8Array): Promise<Uint8Array>;
}

/** A `Signer` that can also sign whole messages: what Ed25519 note signing needs (see `noteSignerFromSigner`). */
export type MessageSigner = Signer & { signMessage?(message: Uint8Array): Promise<Uint8Array> };

const NAME_FORBIDDEN = /[\s\u0085+]/u;

/** signed-note key names: non-empty, no Unicode spaces, no `+`. */
export function isValidKeyName(name: string): boolean {
  return typeof name === 'string' && name.length > 0 && !NAME_FORBIDDEN.test(name);
}

function keyMaterial(publicKey: PublicKey): Uint8Array {
  return publicKey.algorithm === 'ed25519' ? publicKey.raw : publicKeyToSpki(publicKey);
}

/**
 * The signed-note key ID. Ed25519: SHA-256(name || 0x0A || 0x01 || key)[:4].
 * ECDSA (type 0x02, as transparency-dev/witness computes it):
 * SHA-256(DER SubjectPublicKeyInfo)[:4], without the name.
 */
export function noteKeyId(name: string, publicKey: PublicKey): number {
  const digest =
    publicKey.algorithm === 'ed25519'
      ? sha256(concatBytes(utf8Bytes(name), new Uint8Array([0x0a, SIGNATURE_TYPE.ed25519]), publicKey.raw))
      : sha256(publicKeyToSpki(publicKey));
  return ((digest[0]! << 24) | (digest[1]! << 16) | (digest[2]! << 8) | digest[3]!) >>> 0;
}

function checkName(name: string): void {
  if (!isValidKeyName(name)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`origin` (the key name) must be non-empty, without spaces or "+"', {
      details: { options: ['origin'] },
    });
  }
}

/** `<name>+<hex key ID>+<base64(type || key)>`; ECDSA keys are their DER SubjectPublicKeyInfo. */
export function formatVerifierKey(name: string, publicKey: PublicKey): string {
  checkName(name);
  const id = noteKeyId(name, publicKey).toString(16).padStart(8, '0');
  const material = concatBytes(new Uint8Array([SIGNATURE_TYPE[publicKey.algorithm]]), keyMaterial(publicKey));
  return `${name}+${id}+${bytesToBase64(material)}`;
}

function verifierFor(name: string, publicKey: PublicKey): NoteVerifier {
  const keyId = noteKeyId(name, publicKey);
  const verify =
    publicKey.algorithm === 'ed25519'
      ? (message: Uint8Array, signature: Uint8Array) =>
          signature.length === 64 && ed25519.verify(signature, message, publicKey.raw, { zip215: false })
      : // ecdsa.VerifyASN1 in Go accepts high S, so a witness-made signature may have one.
        (message: Uint8Array, signature: Uint8Array) =>
          p256.verify(signature, sha256(message), publicKey.raw, { prehash: false, lowS: false, format: 'der' });
  return {
    name,
    keyId,
    publicKey,
    verify(message, signature) {
      try {
        return verify(message, signature);
      } catch {
        return false;
      }
    },
  };
}

/** A verifier for `publicKey` under key name `name` (a log's origin). */
export function noteVerifier(name: string, publicKey: PublicKey): NoteVerifier {
  checkName(name);
  return verifierFor(name, publicKey);
}

/**
 * Parses a verifier key string. Throws ERR_VERIFIER_KEY_INVALID for a bad
 * name, a key ID that is not 8 lowercase hex digits or not the key's own, an
 * unknown signature type, or key material that is not an Ed25519 key (32
 * bytes) or a P-256 SubjectPublicKeyInfo.
 */
export function parseVerifierKey(vkey: string): NoteVerifier {
  const bad = (why: string) => new ErstError('ERR_VERIFIER_KEY_INVALID', `verifier key: ${why}`);
  if (typeof vkey !== 'string' || vkey.length > 4096) throw bad('not a string of at most 4096 characters');
  const first = vkey.indexOf('+');
  const second = first < 0 ? -1 : vkey.indexOf('+', first + 1);
  if (second < 0) throw bad('expected <name>+<key ID>+<key>');
  const name = vkey.slice(0, first);
  const hexId = vkey.slice(first + 1, second);
  if (!isValidKeyName(name)) throw bad('the name is empty or holds a space');
  if (!/^[0-9a-f]{8}$/.test(hexId)) throw bad('the key ID is not 8 lowercase hex digits');
  let material: Uint8Array;
  try {
    material = decodeBase64(vkey.slice(second + 1), 'verifier key');
  } catch {
    throw bad('the key is not canonical base64');
  }
  let publicKey: PublicKey;
  try {
    if (material[0] === SIGNATURE_TYPE.ed25519 && material.length === 33) {
      publicKey = publicKeyFromRaw(material.subarray(1), 'ed25519');
    } else if (material[0] === SIGNATURE_TYPE['ecdsa-p256']) {
      publicKey = publicKeyFromSpki(material.subarray(1));
      if (publicKey.algorithm !== 'ecdsa-p256') throw bad('type 0x02 holds a key that is not ECDSA P-256');
    } else {
      throw bad(`unsupported signature type 0x${(material[0] ?? 0).toString(16).padStart(2, '0')} or key length`);
    }
  } catch (e) {
    if (isErstError(e) && e.code === 'ERR_VERIFIER_KEY_INVALID') throw e;
    throw bad('the key material is not a supported public key');
  }
  const verifier = verifierFor(name, publicKey);
  if (verifier.keyId.toString(16).padStart(8, '0') !== hexId) throw bad("the key ID is not the key's own");
  return verifier;
}

/** A `NoteSigner` from a name, the public key, and a function signing the note text's bytes. */
export function noteSigner(
  name: string,
  publicKey: PublicKey,
  sign: (message: Uint8Array) => Promise<Uint8Array>,
): NoteSigner {
  checkName(name);
  return { name, keyId: noteKeyId(name, publicKey), publicKey, sign };
}

/**
 * A `NoteSigner` over an `@erst/core` `Signer`. ECDSA P-256 works with any
 * Signer (it signs SHA-256 of the text, re-encoded as DER). Ed25519 signs the
 * text itself, which the digest-only `Signer.sign` cannot do: the signer must
 * also have `signMessage(message)`; without it this throws
 * ERR_NOTE_SIGNER_UNSUPPORTED.
 */
export async function noteSignerFromSigner(name: string, signer: MessageSigner): Promise<NoteSigner> {
  const publicKey = await signer.publicKey();
  if (typeof signer.signMessage === 'function') {
    const signMessage = signer.signMessage.bind(signer);
    if (publicKey.algorithm === 'ed25519') return noteSigner(name, publicKey, signMessage);
  }
  if (publicKey.algorithm === 'ecdsa-p256') {
    return noteSigner(name, publicKey, async (message) => {
      const raw = await signer.sign(sha256(message));
      return p256.Signature.fromBytes(raw, 'compact').toBytes('der');
    });
  }
  throw new ErstError(
    'ERR_NOTE_SIGNER_UNSUPPORTED',
    'an Ed25519 note is signed over its text, and this signer signs only 32-byte digests (it has no signMessage)',
  );
}

/** Hex of a key ID, as verifier keys and messages show it. */
export function keyIdHex(keyId: number): string {
  return bytesToHex(new Uint8Array([keyId >>> 24, (keyId >>> 16) & 0xff, (keyId >>> 8) & 0xff, keyId & 0xff]));
}
