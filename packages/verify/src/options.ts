import {
  ALGORITHMS,
  type Algorithm,
  ErstError,
  type PublicKey,
  isErstError,
  parsePublicKey,
  publicKeyFromRaw,
} from '@erst/core';
import type { NoteVerifier } from '@erst/tlog';
import { type BackendPreference, backendUnavailable } from './ed25519.js';
import { type TrustPolicy, type TrustedKey, checkAttestationRoot, pinnedLogKey } from './trust.js';

/** VerifyOptions after checking: what the Verifier runs on. */
export interface CheckedOptions {
  keys: PublicKey[];
  trust: TrustPolicy[];
  roots: string[];
  requireAttestation: boolean;
  tsaRoots: string[];
  requireTimestamp: boolean;
  backend: BackendPreference;
  maxBytes: number | undefined;
  logKeys: NoteVerifier[];
  verifiedLogs: CheckedVerifiedLog[];
}

/** A `verifiedLogs` entry after checking: its key parsed, its entries a whole number of 32-byte hashes. */
export interface CheckedVerifiedLog {
  /** The key its checkpoint verified under; its name is the log's origin. */
  verifier: NoteVerifier;
  size: number;
  /** `size` x 32 bytes: entry i at [32 i, 32 i + 32). */
  entries: Uint8Array;
}

/** The options VerifyOptions documents; the type lives with the Verifier. */
interface Options {
  publicKeys?: unknown;
  trust?: unknown;
  attestationRoots?: unknown;
  requireAttestation?: unknown;
  tsaRoots?: unknown;
  requireTimestamp?: unknown;
  backend?: unknown;
  maxBytes?: unknown;
  logKeys?: unknown;
  verifiedLogs?: unknown;
}

function invalid(message: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', message);
}

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function list(value: unknown, where: string): readonly unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw invalid(`${where} must be an array`);
  return value;
}

/** A key given as text (hex, SPKI PEM) or as a PublicKey, which may have crossed a structured clone. */
function checkKey(value: unknown, where: string): PublicKey {
  try {
    if (typeof value === 'string') return parsePublicKey(value);
    if (isObject(value) && value.raw instanceof Uint8Array && ALGORITHMS.includes(value.algorithm as Algorithm)) {
      return publicKeyFromRaw(value.raw, value.algorithm as Algorithm);
    }
  } catch (cause) {
    if (!isErstError(cause)) throw cause;
    throw new ErstError('ERR_PUBLIC_KEY_FORMAT', `${where}: ${cause.message}`, { cause });
  }
  throw new ErstError('ERR_PUBLIC_KEY_FORMAT', `${where} must be hex or SPKI PEM text, or a PublicKey`);
}

/** A log's verifier key string (`<name>+<key ID>+<key>`). The message names the option, never quotes the key. */
function checkLogKey(value: unknown, i: number): NoteVerifier {
  const bad = (why: string, cause?: unknown) =>
    new ErstError('ERR_OPTIONS_INVALID', `\`logKeys[${i}]\` ${why}`, { cause, details: { options: ['logKeys'] } });
  if (typeof value !== 'string') throw bad('must be a verifier key string');
  try {
    return pinnedLogKey(value);
  } catch (cause) {
    if (!isErstError(cause)) throw cause;
    throw bad(`is not a verifier key: ${cause.message}`, cause);
  }
}

/** One `verifiedLogs` entry; the message names the option and the member, never quotes the key or the entries. */
function checkVerifiedLog(value: unknown, i: number): CheckedVerifiedLog {
  const bad = (why: string, cause?: unknown) =>
    new ErstError('ERR_OPTIONS_INVALID', `\`verifiedLogs[${i}]\` ${why}`, {
      cause,
      details: { options: ['verifiedLogs'] },
    });
  if (!isObject(value)) throw bad('must be an object { verifierKey, size, entries }');
  if (typeof value.verifierKey !== 'string') throw bad('`verifierKey` must be a verifier key string');
  let verifier: NoteVerifier;
  try {
    verifier = pinnedLogKey(value.verifierKey);
  } catch (cause) {
    if (!isErstError(cause)) throw cause;
    throw bad(`\`verifierKey\` is not a verifier key: ${cause.message}`, cause);
  }
  const { size, entries } = value;
  if (!Number.isSafeInteger(size) || (size as number) < 0) throw bad('`size` must be a non-negative safe integer');
  if (!(entries instanceof Uint8Array) || entries.length !== (size as number) * 32) {
    throw bad('`entries` must be a Uint8Array of `size` x 32 bytes (entry i at bytes 32 i to 32 i + 32)');
  }
  return { verifier, size: size as number, entries };
}

/** A pinned TSA root: PEM certificates, checked as attestation roots are; the error names `tsaRoots`. */
function checkTsaRoot(value: unknown, where: string): string {
  try {
    return checkAttestationRoot(value, `\`${where}\``);
  } catch (cause) {
    if (!isErstError(cause)) throw cause;
    throw new ErstError('ERR_OPTIONS_INVALID', cause.message, { cause, details: { options: ['tsaRoots'] } });
  }
}

function tsaOptionError(message: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', message, { details: { options: ['tsaRoots'] } });
}

function checkDate(value: unknown, where: string): void {
  if (value !== undefined && !(value instanceof Date && !Number.isNaN(value.getTime())))
    throw invalid(`${where} must be a valid Date`);
}

function checkPolicy(value: unknown, where: string): TrustPolicy {
  if (!isObject(value)) throw invalid(`${where} must be a trust policy (see parseTrustFile)`);
  const keys = list(value.keys, `${where}.keys`).map((entry, i): TrustedKey => {
    const at = `${where}.keys[${i}]`;
    if (!isObject(entry)) throw invalid(`${at} must be an object`);
    checkDate(entry.notBefore, `${at}.notBefore`);
    checkDate(entry.notAfter, `${at}.notAfter`);
    if (entry.label !== undefined && typeof entry.label !== 'string') throw invalid(`${at}.label must be a string`);
    const k: TrustedKey = { key: checkKey(entry.key, `${at}.key`) };
    if (entry.label !== undefined) k.label = entry.label;
    if (entry.notBefore !== undefined) k.notBefore = entry.notBefore as Date;
    if (entry.notAfter !== undefined) k.notAfter = entry.notAfter as Date;
    return k;
  });
  const attestationRoots = list(value.attestationRoots, `${where}.attestationRoots`).map((r, i) =>
    checkAttestationRoot(r, `${where}.attestationRoots[${i}]`),
  );
  if (typeof value.requireAttestation !== 'boolean') throw invalid(`${where}.requireAttestation must be a boolean`);
  // Optional: policies made before trusted timestamps existed have neither.
  if (value.tsaRoots !== undefined && !Array.isArray(value.tsaRoots))
    throw invalid(`${where}.tsaRoots must be an array`);
  const tsaRoots = list(value.tsaRoots, `${where}.tsaRoots`).map((r, i) => checkTsaRoot(r, `${where}.tsaRoots[${i}]`));
  if (value.requireTimestamp !== undefined && typeof value.requireTimestamp !== 'boolean')
    throw invalid(`${where}.requireTimestamp must be a boolean`);
  const policy: TrustPolicy = {
    keys,
    attestationRoots,
    requireAttestation: value.requireAttestation,
    tsaRoots,
    requireTimestamp: value.requireTimestamp === true,
  };
  // Optional too: a trust file's log_keys (parseTrustFile checked them; a policy made by hand is checked here).
  if (value.logKeys !== undefined) {
    if (!Array.isArray(value.logKeys)) throw invalid(`${where}.logKeys must be an array`);
    policy.logKeys = value.logKeys.map((k, i) => {
      const bad = (why: string, cause?: unknown) =>
        new ErstError('ERR_OPTIONS_INVALID', `${where}.logKeys[${i}] ${why}`, { cause });
      if (typeof k !== 'string') throw bad('must be a verifier key string');
      try {
        pinnedLogKey(k);
      } catch (cause) {
        if (!isErstError(cause)) throw cause;
        throw bad(`is not a verifier key: ${cause.message}`, cause);
      }
      return k;
    });
  }
  return policy;
}

/**
 * Checks VerifyOptions once, at the boundary. Throws ERR_PUBLIC_KEY_FORMAT
 * for a key that is not one, ERR_OPTIONS_INVALID for any other bad option
 * (an unknown backend, a root that is not a PEM certificate), and
 * ERR_CRYPTO_UNAVAILABLE when what was asked for needs crypto this runtime
 * lacks. Options it does not know are left alone (verifyMany passes its own).
 */
export function checkOptions(options: unknown): CheckedOptions {
  if (options === undefined) options = {};
  if (!isObject(options)) throw invalid('options must be an object');
  const o = options as Options;
  const keys = list(o.publicKeys, 'publicKeys').map((k, i) => checkKey(k, `publicKeys[${i}]`));
  const trust =
    o.trust === undefined
      ? []
      : Array.isArray(o.trust)
        ? o.trust.map((p, i) => checkPolicy(p, `trust[${i}]`))
        : [checkPolicy(o.trust, 'trust')];
  const roots = list(o.attestationRoots, 'attestationRoots').map((r, i) =>
    checkAttestationRoot(r, `attestationRoots[${i}]`),
  );
  if (o.requireAttestation !== undefined && typeof o.requireAttestation !== 'boolean')
    throw invalid('requireAttestation must be a boolean');
  if (o.tsaRoots !== undefined && !Array.isArray(o.tsaRoots)) {
    throw tsaOptionError('`tsaRoots` must be an array of PEM certificate texts');
  }
  const tsaRoots = list(o.tsaRoots, 'tsaRoots').map((r, i) => checkTsaRoot(r, `tsaRoots[${i}]`));
  if (o.requireTimestamp !== undefined && typeof o.requireTimestamp !== 'boolean') {
    throw new ErstError('ERR_OPTIONS_INVALID', '`requireTimestamp` must be a boolean', {
      details: { options: ['requireTimestamp'] },
    });
  }
  const backend = o.backend ?? 'auto';
  const unavailable = backendUnavailable(backend);
  if (unavailable) throw unavailable;
  // Certificate chains are checked with WebCrypto, whichever backend verifies Ed25519.
  if (
    (roots.length > 0 ||
      tsaRoots.length > 0 ||
      trust.some((p) => p.attestationRoots.length > 0 || (p.tsaRoots?.length ?? 0) > 0)) &&
    !(globalThis.crypto as Crypto | undefined)?.subtle
  ) {
    throw new ErstError(
      'ERR_CRYPTO_UNAVAILABLE',
      'attestation or TSA roots were pinned, and checking certificate chains needs WebCrypto (globalThis.crypto.subtle), which this runtime lacks',
    );
  }
  if (o.maxBytes !== undefined && !(Number.isSafeInteger(o.maxBytes) && (o.maxBytes as number) > 0))
    throw invalid('maxBytes must be a positive integer');
  if (o.logKeys !== undefined && !Array.isArray(o.logKeys)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`logKeys` must be an array of verifier key strings', {
      details: { options: ['logKeys'] },
    });
  }
  const logKeyTexts = list(o.logKeys, 'logKeys');
  const logKeys = logKeyTexts.map((k, i) => checkLogKey(k, i));
  // A trust file's log_keys count as well; a key given both ways (node-io passes them in both) counts once.
  const seen = new Set(logKeyTexts);
  for (const k of trust.flatMap((p) => p.logKeys ?? [])) {
    if (seen.has(k)) continue;
    seen.add(k);
    logKeys.push(pinnedLogKey(k));
  }
  if (o.verifiedLogs !== undefined && !Array.isArray(o.verifiedLogs)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`verifiedLogs` must be an array of { verifierKey, size, entries }', {
      details: { options: ['verifiedLogs'] },
    });
  }
  const verifiedLogs = list(o.verifiedLogs, 'verifiedLogs').map((l, i) => checkVerifiedLog(l, i));
  const origins = new Set<string>();
  for (const [i, l] of verifiedLogs.entries()) {
    // One log per origin: two would make "the entry at index i" ambiguous.
    if (origins.has(l.verifier.name)) {
      throw new ErstError('ERR_OPTIONS_INVALID', `\`verifiedLogs[${i}]\` is a second log for its origin`, {
        details: { options: ['verifiedLogs'] },
      });
    }
    origins.add(l.verifier.name);
  }
  return {
    keys,
    trust,
    roots,
    requireAttestation: o.requireAttestation === true,
    tsaRoots,
    requireTimestamp: o.requireTimestamp === true,
    backend: backend as BackendPreference,
    maxBytes: o.maxBytes as number | undefined,
    logKeys,
    verifiedLogs,
  };
}
