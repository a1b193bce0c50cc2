import { ALGORITHMS, type Algorithm, ErstError, base64ToBytes, hexToBytes } from '@erst/core';
import { PIV_SLOT_IDS } from './constants.js';

export type AttestationMode = 'auto' | 'off' | 'required';

/** Everything that names a PKCS#11 key and how to use it. Build it with `pkcs11ConfigFromEnv`. */
export interface Pkcs11Config {
  /** Path of the PKCS#11 library (ERST_PKCS11_MODULE). */
  module?: string | undefined;
  /**
   * User PIN (ERST_PKCS11_PIN). `pkcs11ConfigFromEnv` stores it as a
   * non-enumerable property so logging or serializing a config never shows it.
   */
  pin?: string | undefined;
  /** Token label, compared without PKCS#11's blank padding (ERST_PKCS11_TOKEN_LABEL). */
  tokenLabel?: string | undefined;
  /** Index in the list of slots holding a token (ERST_PKCS11_SLOT); a slot ID also works. */
  slot?: number | undefined;
  keyLabel?: string | undefined;
  /** CKA_ID in hex (ERST_PKCS11_KEY_ID). */
  keyId?: string | undefined;
  /** YubiKey PIV slot: 9a 9c 9d 9e 82-95 f9 (ERST_PKCS11_PIV_SLOT). */
  pivSlot?: string | undefined;
  /** Expected algorithm (ERST_PKCS11_ALGORITHM); by default taken from the key. */
  algorithm?: Algorithm | undefined;
  /** Optional SPKI PEM that must match the token's key (ERST_PKCS11_PUBLIC_KEY_PEM). */
  publicKeyPem?: string | undefined;
  /** Sessions for concurrent signing; default max(8, 2 x CPUs), capped by the token. */
  poolSize?: number | undefined;
  /**
   * Sign on threads of the signer's own (up to one per session) that make the
   * blocking PKCS#11 calls, in batches: for bulk signing, where it keeps the
   * event loop free to canonicalize and hash the next records. Starting a
   * thread costs some milliseconds, so one-off signing leaves it off
   * (signatures then run on libuv's pool with C_SignAsync). Default false.
   */
  threads?: boolean | undefined;
  /** `auto` embeds an attestation when the token has one; `required` fails without one; `off` never collects. */
  attestation?: AttestationMode | undefined;
  /** Extra certificates for the chain (PEM bundle text or DER), for vendor CAs the token does not store. */
  attestationChain?: string | readonly Uint8Array[] | undefined;
}

export const ENV = {
  module: 'ERST_PKCS11_MODULE',
  pin: 'ERST_PKCS11_PIN',
  tokenLabel: 'ERST_PKCS11_TOKEN_LABEL',
  slot: 'ERST_PKCS11_SLOT',
  keyLabel: 'ERST_PKCS11_KEY_LABEL',
  keyId: 'ERST_PKCS11_KEY_ID',
  pivSlot: 'ERST_PKCS11_PIV_SLOT',
  algorithm: 'ERST_PKCS11_ALGORITHM',
  publicKeyPem: 'ERST_PKCS11_PUBLIC_KEY_PEM',
} as const;

/** Stores the PIN where JSON.stringify, util.inspect and object spread do not see it. */
export function hidePin<T extends { pin?: string | undefined }>(config: T, pin: string | undefined): T {
  Object.defineProperty(config, 'pin', { value: pin, enumerable: false, writable: true, configurable: true });
  return config;
}

/**
 * The configuration the ERST_PKCS11_* variables describe, with `overrides`
 * (command-line flags) taking precedence where they are defined.
 */
export function pkcs11ConfigFromEnv(
  env: Record<string, string | undefined> = process.env,
  overrides: Pkcs11Config = {},
): Pkcs11Config {
  const nonEmpty = (v: string | undefined) => (v === undefined || v === '' ? undefined : v);
  const config: Pkcs11Config = {
    module: nonEmpty(env[ENV.module]),
    tokenLabel: nonEmpty(env[ENV.tokenLabel]),
    slot: env[ENV.slot] ? parseSlot(env[ENV.slot]!, ENV.slot) : undefined,
    keyLabel: nonEmpty(env[ENV.keyLabel]),
    keyId: nonEmpty(env[ENV.keyId]),
    pivSlot: nonEmpty(env[ENV.pivSlot]),
    algorithm: env[ENV.algorithm] ? parseAlgorithm(env[ENV.algorithm]!, ENV.algorithm) : undefined,
    publicKeyPem: nonEmpty(env[ENV.publicKeyPem]),
  };
  for (const [k, v] of Object.entries(overrides)) {
    if (v !== undefined && k !== 'pin') (config as Record<string, unknown>)[k] = v;
  }
  return hidePin(config, overrides.pin ?? nonEmpty(env[ENV.pin]));
}

/**
 * A bad option value. The message names the option in API terms, quoted in
 * backticks (`keyId`), and `details.options` lists it, so a command line can
 * name its own flag instead; an environment variable is named as it is.
 */
function optionError(what: string, message: string): ErstError {
  const named = what.startsWith('ERST_') ? what : `\`${what}\``;
  return new ErstError('ERR_OPTIONS_INVALID', `${named} ${message}`, { details: { options: [what] } });
}

/** Throws ERR_OPTIONS_INVALID naming `what` (an option name, or the variable the text came from). */
export function parseSlot(text: string, what = 'slot'): number {
  const t = text.trim();
  if (!/^(0|[1-9][0-9]*)$/.test(t) || !Number.isSafeInteger(Number(t))) {
    throw optionError(what, `must be a slot index (0, 1, ...) or slot ID, not ${JSON.stringify(text)}`);
  }
  return Number(t);
}

/** Throws ERR_OPTIONS_INVALID naming `what`. */
export function parseAlgorithm(text: string, what = 'algorithm'): Algorithm {
  if (!(ALGORITHMS as readonly string[]).includes(text)) {
    throw optionError(what, `must be one of ${ALGORITHMS.join(', ')}, not ${JSON.stringify(text)}`);
  }
  return text as Algorithm;
}

/** A CKA_ID given in hex ("01", "0x01", "a1:b2"). Throws ERR_OPTIONS_INVALID naming `what`. */
export function parseKeyId(text: string, what = 'keyId'): Uint8Array {
  const t = text.trim().toLowerCase().replace(/^0x/, '').replace(/:/g, '');
  const bytes = t.length > 0 ? hexToBytes(t) : undefined;
  if (!bytes) throw optionError(what, `must be hex bytes (for example 01 or a1b2c3), not ${JSON.stringify(text)}`);
  return bytes;
}

/** Throws ERR_OPTIONS_INVALID naming `what`. */
export function parsePivSlot(text: string, what = 'pivSlot'): { slot: string; id: Uint8Array } {
  const slot = text.trim().toLowerCase().replace(/^0x/, '');
  const id = PIV_SLOT_IDS[slot];
  if (id === undefined) {
    throw optionError(what, `must be a YubiKey PIV slot (9a, 9c, 9d, 9e, 82-95, f9), not ${JSON.stringify(text)}`);
  }
  return { slot, id: Uint8Array.of(id) };
}

const CERT_BLOCK = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+?)-----END CERTIFICATE-----/g;

/** The DER certificates in a PEM bundle. Throws ERR_OPTIONS_INVALID naming `what`. */
export function parseCertificateBundle(pem: string, what = 'attestationChain'): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(CERT_BLOCK)) {
    const der = base64ToBytes(m[1]!.replace(/\s+/g, ''));
    if (!der || der.length === 0) throw optionError(what, 'holds a CERTIFICATE block that is not valid base64');
    out.push(der);
  }
  if (out.length === 0) throw optionError(what, 'holds no "-----BEGIN CERTIFICATE-----" block');
  return out;
}
