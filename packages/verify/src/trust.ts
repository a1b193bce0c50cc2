import {
  type ErrorCode,
  ErstError,
  type JsonValue,
  type PublicKey,
  base64ToBytes,
  isErstError,
  parsePublicKey,
  parseRfc3339,
  parseStrictJson,
  publicKeyId,
} from '@erst/core';
import { type NoteVerifier, parseVerifierKey } from '@erst/tlog';

/** A key the verifier was told to trust, optionally only for a window of time. */
export interface TrustedKey {
  key: PublicKey;
  label?: string;
  notBefore?: Date;
  notAfter?: Date;
}

/** Trust material, always passed in: the verifier reads no files. */
export interface TrustPolicy {
  keys: TrustedKey[];
  /** PEM text of pinned attestation roots. */
  attestationRoots: string[];
  requireAttestation: boolean;
  /** PEM text of pinned RFC 3161 TSA roots: a record's `timestamp_token` must chain to one. */
  tsaRoots?: string[];
  /** Refuse records without a timestamp token verified against a pinned TSA root. */
  requireTimestamp?: boolean;
  /**
   * A trust file's `log_keys`: verifier keys (`<origin>+<key ID>+<key>`) of
   * the logs a 2.1.0 record's `log_proof` may lead to, each checked. Present
   * only when the file has the field. The Verifier adds them to `logKeys`.
   */
  logKeys?: string[];
}

export interface ParseTrustOptions {
  /**
   * Turns an `attestation_roots` or `tsa_roots` entry that is not PEM text (a
   * path relative to the trust file) into PEM text. Without it, only inline
   * PEM is accepted. It throws an ErstError to refuse an entry; the trust file
   * names the entry.
   */
  resolveRoot?: (reference: string) => string;
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([^-]*)-----END CERTIFICATE-----/g;

/** One DER element at `at`: its tag and where its contents start and end; undefined when it overruns. */
function derElement(der: Uint8Array, at: number): { tag: number; start: number; end: number } | undefined {
  if (at + 2 > der.length) return undefined;
  let length = der[at + 1]!;
  let start = at + 2;
  if (length & 0x80) {
    const n = length & 0x7f;
    if (n === 0 || n > 4 || start + n > der.length) return undefined;
    length = 0;
    for (let i = 0; i < n; i++) length = length * 256 + der[start + i]!;
    start += n;
  }
  const end = start + length;
  return end > der.length ? undefined : { tag: der[at]!, start, end };
}

/** DER shaped as an X.509 Certificate: SEQUENCE { tbsCertificate SEQUENCE, signatureAlgorithm SEQUENCE, signatureValue BIT STRING }. */
function isCertificateDer(der: Uint8Array): boolean {
  const outer = derElement(der, 0);
  if (outer?.tag !== 0x30 || outer.end !== der.length) return false;
  const tbs = derElement(der, outer.start);
  const alg = tbs?.tag === 0x30 ? derElement(der, tbs.end) : undefined;
  const sig = alg?.tag === 0x30 ? derElement(der, alg.end) : undefined;
  return sig?.tag === 0x03 && sig.end === outer.end;
}

/**
 * Checks a pinned attestation root: PEM text holding one or more CERTIFICATE
 * blocks, each an X.509 certificate in outline. Every way roots come in (a
 * trust file, `--attestation-root`, VerifyOptions) goes through this check.
 * The full parse waits for the first record that carries an attestation, so
 * @peculiar/x509 is loaded only then.
 *
 * Throws an ErstError with `code`; the message names the root by `where`
 * and never quotes its text.
 */
export function checkAttestationRoot(text: unknown, where: string, code: ErrorCode = 'ERR_OPTIONS_INVALID'): string {
  if (typeof text !== 'string') throw new ErstError(code, `${where} must be PEM text`);
  const blocks = [...text.matchAll(PEM_CERTIFICATE)];
  if (blocks.length === 0) throw new ErstError(code, `${where} holds no PEM certificate`);
  blocks.forEach((block, i) => {
    const b64 = block[1]!.replace(/\s+/g, '');
    const der = /^[A-Za-z0-9+/]+={0,2}$/.test(b64) ? base64ToBytes(b64) : undefined;
    if (!der || !isCertificateDer(der)) {
      throw new ErstError(code, `${where}: PEM block ${i + 1} is not an X.509 certificate`);
    }
  });
  return text;
}

function trustError(message: string, cause?: unknown): ErstError {
  return new ErstError('ERR_TRUST_FILE_INVALID', `trust file: ${message}`, cause === undefined ? {} : { cause });
}

/**
 * An RFC 3339 date-time, or a full date (`2027-01-01`, midnight UTC) as people
 * write window bounds. Checked as a calendar date: `new Date('2026-02-30')`
 * would roll over to March 2 and move the window without a word.
 */
function parseDate(value: JsonValue | undefined, where: string): Date | undefined {
  if (value === undefined || value === null) return undefined;
  const text = typeof value === 'string' && /^\d{4}-\d{2}-\d{2}$/.test(value) ? `${value}T00:00:00Z` : value;
  const d = typeof text === 'string' ? parseRfc3339(text) : undefined;
  if (!d) throw trustError(`${where} is not an RFC 3339 date`);
  return d;
}

/**
 * A trust file's list of root certificates (`attestation_roots`, `tsa_roots`):
 * each PEM text, or a path `resolveRoot` reads; every one must hold X.509
 * certificates. One rule for both lists.
 */
function rootList(value: JsonValue | undefined, field: string, options: ParseTrustOptions): string[] {
  const raw = value ?? [];
  if (!Array.isArray(raw) || raw.some((r) => typeof r !== 'string')) {
    throw trustError(`"${field}" must be an array of strings (PEM text or paths)`);
  }
  return (raw as string[]).map((r, i) => {
    const where = `trust file: ${field}[${i}]`;
    let text = r;
    if (!r.includes('-----BEGIN CERTIFICATE-----')) {
      if (!options.resolveRoot) throw trustError(`${field}[${i}] is not PEM text, and no file resolver was given`);
      try {
        text = options.resolveRoot(r);
      } catch (cause) {
        if (!isErstError(cause)) throw cause;
        throw new ErstError(cause.code, `${where}: ${cause.message}`, { cause, details: cause.details });
      }
    }
    return checkAttestationRoot(text, where, 'ERR_TRUST_FILE_INVALID');
  });
}

/**
 * A log's verifier key as erst pins it: what @erst/tlog's parseVerifierKey
 * accepts (the note format allows any name without spaces or '+'), and an
 * origin without control characters, which would reach terminals and
 * reports in every message naming the log.
 *
 * @throws ERR_VERIFIER_KEY_INVALID, the key never quoted
 */
export function pinnedLogKey(vkey: string): NoteVerifier {
  const verifier = parseVerifierKey(vkey);
  if (/\p{Cc}/u.test(verifier.name)) {
    throw new ErstError('ERR_VERIFIER_KEY_INVALID', 'verifier key: the log origin holds a control character');
  }
  return verifier;
}

/** A trust file's `log_keys`: an array of verifier key strings, each one checked; never quoted in an error. */
function logKeyList(value: JsonValue): string[] {
  if (!Array.isArray(value)) throw trustError('"log_keys" must be an array of verifier key strings');
  return value.map((k, i) => {
    try {
      if (typeof k !== 'string') throw new ErstError('ERR_VERIFIER_KEY_INVALID', 'not a string');
      pinnedLogKey(k);
      return k;
    } catch (cause) {
      if (!isErstError(cause)) throw cause;
      throw trustError(`log_keys[${i}] is not a verifier key: ${cause.message}`, cause);
    }
  });
}

function flag(value: JsonValue | undefined, field: string): boolean {
  const v = value ?? false;
  if (typeof v !== 'boolean') throw trustError(`"${field}" must be a boolean`);
  return v;
}

const TRUST_FILE_FIELDS = [
  'keys',
  'attestation_roots',
  'require_attestation',
  'tsa_roots',
  'require_timestamp',
  'log_keys',
];

/**
 * Parses and validates a trust file (`{keys, attestation_roots,
 * require_attestation, tsa_roots, require_timestamp, log_keys}`). Every
 * member is checked: a `__proto__` member is a member like any other, so an
 * unknown field.
 */
export function parseTrustFile(input: string | Uint8Array | JsonValue, options: ParseTrustOptions = {}): TrustPolicy {
  let doc: JsonValue;
  try {
    doc = typeof input === 'string' || input instanceof Uint8Array ? parseStrictJson(input) : input;
  } catch (cause) {
    throw trustError((cause as Error).message, cause);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) throw trustError('must be a JSON object');
  for (const k of Object.keys(doc)) {
    if (!TRUST_FILE_FIELDS.includes(k)) throw trustError(`unknown field "${k}"`);
  }
  const keys: TrustedKey[] = [];
  const rawKeys = doc.keys ?? [];
  if (!Array.isArray(rawKeys)) throw trustError('"keys" must be an array');
  rawKeys.forEach((entry, i) => {
    const where = `keys[${i}]`;
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry))
      throw trustError(`${where} must be an object`);
    if (typeof entry.public_key !== 'string')
      throw trustError(`${where}.public_key must be a string (hex or SPKI PEM)`);
    let key: PublicKey;
    try {
      key = parsePublicKey(entry.public_key);
    } catch (cause) {
      throw trustError(`${where}.public_key: ${(cause as Error).message}`, cause);
    }
    if (entry.algorithm !== undefined && entry.algorithm !== key.algorithm) {
      throw trustError(`${where}.algorithm is ${JSON.stringify(entry.algorithm)} but the key is ${key.algorithm}`);
    }
    const tk: TrustedKey = { key };
    if (entry.label !== undefined) {
      if (typeof entry.label !== 'string') throw trustError(`${where}.label must be a string`);
      tk.label = entry.label;
    }
    const nb = parseDate(entry.not_before, `${where}.not_before`);
    const na = parseDate(entry.not_after, `${where}.not_after`);
    if (nb) tk.notBefore = nb;
    if (na) tk.notAfter = na;
    if (nb && na && nb > na) throw trustError(`${where}: not_before is after not_after`);
    keys.push(tk);
  });
  const policy: TrustPolicy = {
    keys,
    attestationRoots: rootList(doc.attestation_roots, 'attestation_roots', options),
    requireAttestation: flag(doc.require_attestation, 'require_attestation'),
    tsaRoots: rootList(doc.tsa_roots, 'tsa_roots', options),
    requireTimestamp: flag(doc.require_timestamp, 'require_timestamp'),
  };
  // Only when present: policies parsed from files without it stay as they were.
  if (Object.hasOwn(doc, 'log_keys')) policy.logKeys = logKeyList(doc.log_keys!);
  return policy;
}

/** Merges pinned keys and trust files into one policy; lookups are by key bytes. */
export class TrustIndex {
  readonly #byId = new Map<string, TrustedKey[]>();
  readonly roots: string[];
  readonly requireAttestation: boolean;
  /** Pinned TSA roots of every policy, one array for the Verifier's lifetime (@erst/timestamp caches by it). */
  readonly tsaRoots: string[];
  readonly requireTimestamp: boolean;
  readonly hasAnchors: boolean;

  constructor(policies: TrustPolicy[]) {
    for (const p of policies) {
      for (const k of p.keys) {
        const id = publicKeyId(k.key);
        const list = this.#byId.get(id) ?? [];
        list.push(k);
        this.#byId.set(id, list);
      }
    }
    this.roots = policies.flatMap((p) => p.attestationRoots);
    this.requireAttestation = policies.some((p) => p.requireAttestation);
    this.tsaRoots = policies.flatMap((p) => p.tsaRoots ?? []);
    this.requireTimestamp = policies.some((p) => p.requireTimestamp === true);
    this.hasAnchors = this.#byId.size > 0 || this.roots.length > 0;
  }

  /** Entries pinning this key (any window), in the order given. `id`: the key's publicKeyId, when the caller has it. */
  lookup(key: PublicKey, id = publicKeyId(key)): TrustedKey[] {
    return this.#byId.get(id) ?? [];
  }
}

/** Whether `at` falls inside the key's window (inclusive). */
export function withinWindow(k: TrustedKey, at: Date): boolean {
  return !(k.notBefore && at < k.notBefore) && !(k.notAfter && at > k.notAfter);
}
