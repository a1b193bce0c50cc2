import { type PublicKey, hexToBytes, publicKeyFromRaw } from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';

/** The fixed reference time every test CA is built around. */
export const NOW = new Date('2026-11-26T12:00:00.000Z');
export const AT = [NOW, new Date(NOW.getTime() + 60_000)];

export const ED25519_KEY: PublicKey = publicKeyFromRaw(hexToBytes(SIGNING_PUBLIC_KEY_HEX)!, 'ed25519');

export async function p256Key(): Promise<PublicKey> {
  const kp = (await crypto.subtle.generateKey({ name: 'ECDSA', namedCurve: 'P-256' }, true, [
    'sign',
    'verify',
  ])) as CryptoKeyPair;
  return publicKeyFromRaw(new Uint8Array(await crypto.subtle.exportKey('raw', kp.publicKey)), 'ecdsa-p256');
}

export function codes(report: { errors: { code: string }[] }): string[] {
  return [...new Set(report.errors.map((e) => e.code))].sort();
}
