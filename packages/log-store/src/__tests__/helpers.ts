import { type PublicKey, sha256, utf8Bytes } from '@erst/core';
import { type NoteSigner, type NoteVerifier, noteSigner, noteVerifier } from '@erst/tlog';
import { ed25519 } from '@noble/curves/ed25519.js';

export const ORIGIN = 'erst.example/log';

export function key(seedByte = 1): { signer: NoteSigner; verifier: NoteVerifier; publicKey: PublicKey } {
  const seed = new Uint8Array(32).fill(seedByte);
  const publicKey: PublicKey = { algorithm: 'ed25519', raw: ed25519.getPublicKey(seed) };
  return {
    publicKey,
    signer: noteSigner(ORIGIN, publicKey, async (m) => ed25519.sign(m, seed)),
    verifier: noteVerifier(ORIGIN, publicKey),
  };
}

/** Entry i: SHA-256 of "record i", like a record's trace_hash. */
export function entry(i: number, salt = ''): Uint8Array {
  return sha256(utf8Bytes(`record ${i}${salt}`));
}

export const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
