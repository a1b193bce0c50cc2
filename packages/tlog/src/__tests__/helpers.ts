import { type PublicKey, sha256, utf8Bytes } from '@erst/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { type NoteSigner, noteSigner } from '../index.js';

export function ed25519Key(seedByte: number): { publicKey: PublicKey; seed: Uint8Array } {
  const seed = new Uint8Array(32).fill(seedByte);
  return { seed, publicKey: { algorithm: 'ed25519', raw: ed25519.getPublicKey(seed) } };
}

export function ed25519Signer(name: string, seedByte = 1): NoteSigner {
  const { seed, publicKey } = ed25519Key(seedByte);
  return noteSigner(name, publicKey, async (m) => ed25519.sign(m, seed));
}

export function p256Signer(name: string, seedByte = 2): NoteSigner {
  const secret = new Uint8Array(32).fill(seedByte);
  const publicKey: PublicKey = { algorithm: 'ecdsa-p256', raw: p256.getPublicKey(secret, false) };
  return noteSigner(name, publicKey, async (m) => p256.sign(sha256(m), secret, { prehash: false, format: 'der' }));
}

/** Entry i: SHA-256 of "entry i", like a record's trace_hash. */
export function entries(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => sha256(utf8Bytes(`entry ${i}`)));
}
