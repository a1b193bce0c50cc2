import { base64ToBytes, bytesToBase64, hexToBytes, isLowerHex } from './bytes.js';
import { ErstError } from './errors.js';
import { utf8Bytes } from './bytes.js';
import {
  V2_1_SEAL_FIELDS,
  V2_SEAL_FIELDS,
  hashInputTextLegacyTs,
  hashInputTextV1_0,
  hashInputTextV1_1,
  hashInputTextV2,
  hashInputTextV2_1,
} from './hash-input.js';
import { assembleCanonical, isScannableText, scanCanonical, scannedHead, utf8Text } from './jcs-text.js';
import {
  DEFAULT_MAX_INPUT_BYTES,
  type JsonObject,
  type JsonValue,
  type ParseJsonOptions,
  parseStrictJson,
} from './json.js';
import { hasNativeSha256, sha256, sha256Utf8Async } from './sha256.js';
import {
  ALGORITHMS,
  type Algorithm,
  type PublicKey,
  publicKeyFromPem,
  publicKeyFromRaw,
  PUBLIC_KEY_LENGTH,
} from './keys.js';
import {
  type AttestationCertificate,
  type ErstPayload,
  type HardwareAttestation,
  KEY_ATTRIBUTE_NAMES,
  type KeyAttributes,
  MAX_LOG_PROOF_BYTES,
  MAX_TIMESTAMP_TOKEN_BYTES,
  type RecordFormat,
} from './record.js';

/**
 * What every record format reduces to for verification (sigstore-js calls
 * this a SignedEntity): one small shape, one adapter per input format.
 */
export interface SignedRecord {
  readonly format: RecordFormat;
  readonly algorithm: Algorithm;
  readonly publicKey: PublicKey;
  /** Absent only in a 2.1.0 record sealed by its log proof alone. */
  readonly signature: Uint8Array | undefined;
  /** A 2.1.0 record's `log_proof` (C2SP tlog-proof text), unchecked; @erst/verify checks it. */
  readonly logProof: string | undefined;
  /** A 2.1.0 record's `timestamp_token` (canonical base64 of a DER TimeStampToken), unchecked; @erst/verify checks it. */
  readonly timestampToken: string | undefined;
  /** The hash the record claims (`trace_hash`, or `hash` in erst-ts), lowercase hex. */
  readonly claimedHash: string;
  /** The exact text whose UTF-8 bytes are hashed. */
  readonly hashInputText: string;
  /** The exact bytes that are hashed (computed on first use). */
  readonly hashInput: Uint8Array;
  /** The signature signs the raw 32-byte digest, or (erst-ts) the 64 ASCII bytes of its hex. */
  readonly signedMessage: 'digest' | 'digest-hex';
  /**
   * Top-level fields the hash input covers (sealed by the signature, or by
   * the log proof), and those nothing covers. The seals themselves
   * (`trace_hash`, `signature`, and in 2.1.0 `timestamp_token` and
   * `log_proof`) are in neither list.
   */
  readonly covered: readonly string[];
  readonly uncovered: readonly string[];
  readonly transactionHash: string | undefined;
  readonly timestamp: string | undefined;
  readonly attestation: HardwareAttestation | undefined;
  readonly record: JsonObject;
}

/** Which format a parsed JSON value is, without validating it. */
export function detectFormat(value: JsonValue): RecordFormat {
  const rec = asObject(value, '$');
  if (Object.hasOwn(rec, 'version')) {
    const v = rec.version;
    if (typeof v !== 'string') throw typeError('version', 'a string');
    if (v === '2.1.0' || v === '2.0.0' || v === '1.1.0' || v === '1.0.0') return v;
    throw new ErstError(
      'ERR_RECORD_UNSUPPORTED_VERSION',
      `unsupported record version ${JSON.stringify(v)}; known: 2.1.0, 2.0.0, 1.1.0, 1.0.0`,
      {
        details: { version: v },
      },
    );
  }
  if (Object.hasOwn(rec, 'trace') && Object.hasOwn(rec, 'hash')) return 'erst-ts';
  throw new ErstError(
    'ERR_RECORD_UNKNOWN_FORMAT',
    'not an erst audit record: no "version" field, and not an erst TypeScript record (trace, hash)',
  );
}

/** Validates a record strictly and reduces it to a SignedRecord. */
export function parseRecord(value: JsonValue): SignedRecord {
  const format = detectFormat(value);
  const rec = value as JsonObject;
  switch (format) {
    case '2.1.0':
    case '2.0.0':
      return parseV2(rec, format);
    case '1.1.0':
    case '1.0.0':
      return parseV1(rec, format);
    case 'erst-ts':
      return parseLegacyTs(rec);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** parseRecordBytes' options. */
export interface ParseRecordBytesOptions extends ParseJsonOptions {
  /**
   * The record's `record` (its parsed JSON, built only if read) is read from
   * `bytes` themselves rather than from a copy: for a caller that reads it, if
   * at all, before it changes or transfers `bytes` (@erst/verify's Verifier,
   * which never hands the record out). Saves a copy of every record.
   */
  readonly borrow?: boolean;
}

/**
 * `parseRecord(parseStrictJson(bytes, options))`, with the same result and
 * the same errors, made faster for the common record: one whose strings and
 * numbers are spelled as JSON.stringify spells them (as every erst writer
 * does). Its 2.x hash input is then read off the text (`scanCanonical`) and
 * hashed as it is, instead of being rebuilt by `canonicalize`; the record's
 * `hashInputText` is made only if someone reads it, and `hashInputDigest`
 * returns the digest already made. A compact record (no control character:
 * no whitespace but spaces) is not even parsed whole: its fields are read off
 * its top level with the payload left out, and `record` is parsed only if
 * read. Any other record takes the general path.
 * Where there is no native SHA-256 (browsers), always the general path.
 */
export function parseRecordBytes(bytes: Uint8Array, options: ParseRecordBytesOptions = {}): SignedRecord {
  return (hasNativeSha256 ? fastRecord(bytes, options) : undefined) ?? parseRecord(parseStrictJson(bytes, options));
}

/** The record, when the fast path applies; undefined sends the caller to the general path (which may throw). */
function fastRecord(bytes: Uint8Array, options: ParseRecordBytesOptions): SignedRecord | undefined {
  if (bytes.byteLength > (options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES)) return undefined;
  // A compact text is checked without decoding it (isScannableText); any other is decoded, which is also what
  // scanCanonical needs: UTF-8.
  const compact = isScannableText(bytes);
  let text = '';
  if (!compact) {
    try {
      text = utf8.decode(bytes);
    } catch {
      return undefined;
    }
  }
  // Before JSON.parse: the scan refuses nesting past MAX_JSON_DEPTH, so nothing deep is ever built.
  const scanned = scanCanonical(bytes);
  if (!scanned) return undefined;
  // The scan found no repeated key, no number that is not exact, no escaped surrogate, no nesting too deep: what
  // parseStrictJson checks beyond JSON.parse. So parseStrictJson(bytes) is JSON.parse's value, and what follows is
  // parseRecord. A compact text is JSON already (isScannableText): only its top level is parsed, the payload left
  // out, which the 2.x checks need only to be an object (one that is not is in the head, to be refused there).
  let value: JsonObject;
  try {
    value = compact ? scannedHead(scanned, 'payload') : (JSON.parse(text) as JsonObject);
  } catch {
    return undefined;
  }
  const format = detectFormat(value);
  if (format !== '2.1.0' && format !== '2.0.0') {
    return parseRecord(compact ? (JSON.parse(utf8Text(bytes)) as JsonValue) : value);
  }
  const omitted = format === '2.1.0' ? V2_1_SEAL_FIELDS : V2_SEAL_FIELDS;
  const rec = parseV2(value, format, () => sha256(assembleCanonical(scanned, omitted)));
  return compact ? withLazyRecord(rec, options.borrow ? bytes : bytes.slice()) : rec;
}

/**
 * `rec`, read from a compact text of which only the head was parsed, with its
 * `record` parsed from `bytes` (kept as they are) when first read. Exported
 * for parse-async.ts only (not from the package).
 */
export function withLazyRecord(rec: SignedRecord, bytes: Uint8Array): SignedRecord {
  Object.defineProperty(rec, RECORD_BYTES, { value: bytes, enumerable: false });
  return Object.defineProperty(rec, 'record', { enumerable: true, get: lazyRecord });
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(?:Z|([+-])(\d{2}):(\d{2}))$/;

/**
 * The instant an RFC 3339 date-time names (to the millisecond), or undefined
 * if it is not one: the date must exist (no February 30th), the time too (no
 * 24:00, no leap second), offsets run to ±23:59. Read field by field, not with
 * Date.parse, which rolls impossible dates over and whose grammar differs
 * between engines (nanosecond fractions).
 */
export function parseRfc3339(s: string): Date | undefined {
  const m = RFC3339.exec(s);
  if (!m) return undefined;
  const [year, month, day, hour, minute, second] = m.slice(1, 7).map(Number) as [
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const d = new Date(0);
  // setUTCFullYear, unlike Date.UTC, does not read years 0-99 as 1900-1999.
  d.setUTCFullYear(year, month - 1, day);
  d.setUTCHours(hour, minute, second);
  // Date rolls fields over (February 30th becomes March 2nd): a date that reads back differently does not exist.
  if (
    d.getUTCFullYear() !== year ||
    d.getUTCMonth() !== month - 1 ||
    d.getUTCDate() !== day ||
    d.getUTCHours() !== hour ||
    d.getUTCMinutes() !== minute ||
    d.getUTCSeconds() !== second
  ) {
    return undefined;
  }
  let ms = d.getTime() + (m[7] ? Number(m[7].padEnd(3, '0').slice(0, 3)) : 0);
  if (m[8]) {
    const offsetHours = Number(m[9]);
    const offsetMinutes = Number(m[10]);
    if (offsetHours > 23 || offsetMinutes > 59) return undefined;
    ms -= (m[8] === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000;
  }
  return new Date(ms);
}

/** Days in each month of a common year; February gains one in a leap year. */
const DAYS_IN_MONTH = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31];

/**
 * Whether parseRfc3339 reads `s` as an instant: the same grammar and the same
 * ranges, checked by arithmetic (Date rolls over, and reading each field back
 * from one cost a record's check about 2 µs). The proleptic Gregorian
 * calendar, as Date's: a year divisible by 4 is leap, but not a century year
 * unless it is divisible by 400 (so year 0 is).
 */
export function isRfc3339(s: string): boolean {
  const m = RFC3339.exec(s);
  if (!m) return false;
  const year = Number(m[1]);
  const month = Number(m[2]);
  const day = Number(m[3]);
  if (month < 1 || month > 12 || day < 1) return false;
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0);
  if (day > DAYS_IN_MONTH[month - 1]! + (month === 2 && leap ? 1 : 0)) return false;
  if (Number(m[4]) > 23 || Number(m[5]) > 59 || Number(m[6]) > 59) return false;
  return !m[8] || (Number(m[9]) <= 23 && Number(m[10]) <= 59);
}

/**
 * 2.1.0 is read as 2.0.0 is, with its own seals: `signature`, `log_proof` or both.
 * `digest`: the hash input's SHA-256, made from the record's bytes (parseRecordBytes, parseRecordBytesAsync);
 * called once the fields are checked, in their place (a record that fails a check is not hashed).
 * Exported for parse-async.ts only (not from the package).
 */
export function parseV2(rec: JsonObject, format: '2.1.0' | '2.0.0', digest?: () => Uint8Array): SignedRecord {
  const timestamp = timestampField(rec, 'timestamp');
  const transactionHash = hexString(rec, 'transaction_hash', 32);
  const algorithm = stringField(rec, 'algorithm');
  if (!ALGORITHMS.includes(algorithm as Algorithm)) {
    throw new ErstError(
      'ERR_ALGORITHM_UNSUPPORTED',
      `unsupported algorithm ${JSON.stringify(algorithm)}; known: ${ALGORITHMS.join(', ')}`,
    );
  }
  const alg = algorithm as Algorithm;
  const publicKey = keyField(rec, 'public_key', alg);
  asObject(required(rec, 'payload'), 'payload');
  const attestation = Object.hasOwn(rec, 'hardware_attestation')
    ? parseAttestation(rec.hardware_attestation!, true)
    : undefined;
  const claimedHash = hexString(rec, 'trace_hash', 32);
  const v21 = format === '2.1.0';
  const logProof = v21 && Object.hasOwn(rec, 'log_proof') ? logProofField(rec) : undefined;
  if (v21 && !Object.hasOwn(rec, 'signature') && logProof === undefined) {
    throw new ErstError(
      'ERR_RECORD_NO_SIGNATURE_OR_PROOF',
      'a 2.1.0 record needs a "signature", a "log_proof" or both: this one has neither, so nothing seals it',
    );
  }
  const signature = !v21 || Object.hasOwn(rec, 'signature') ? hexField(rec, 'signature', 64) : undefined;
  const timestampToken = v21 && Object.hasOwn(rec, 'timestamp_token') ? timestampTokenField(rec) : undefined;
  const seals: readonly string[] = v21 ? V2_1_SEAL_FIELDS : V2_SEAL_FIELDS;
  const fields = {
    format,
    algorithm: alg,
    publicKey,
    signature,
    logProof,
    timestampToken,
    claimedHash,
    hashInputText: digest ? '' : v21 ? hashInputTextV2_1(rec) : hashInputTextV2(rec),
    signedMessage: 'digest' as const,
    covered: Object.keys(rec).filter((f) => !seals.includes(f)),
    uncovered: [],
    transactionHash,
    timestamp,
    attestation,
    record: rec,
  };
  if (!digest) return withLazyBytes(fields);
  Object.defineProperty(fields, HASH_INPUT_DIGEST, { value: digest(), enumerable: false });
  Object.defineProperty(fields, 'hashInputText', { enumerable: true, configurable: true, get: lazyHashInputText });
  return withLazyBytes(fields);
}

const HASH_INPUT_DIGEST = Symbol('hashInputDigest');
const HASH_INPUT_TEXT = Symbol('hashInputText');

const RECORD_BYTES = Symbol('recordBytes');
const RECORD_VALUE = Symbol('recordValue');

/** A compact record read by parseRecordBytes: its parsed JSON, parsed only when asked for (one getter for all). */
function lazyRecord(this: SignedRecord & { [RECORD_BYTES]: Uint8Array; [RECORD_VALUE]?: JsonObject }): JsonObject {
  let value = this[RECORD_VALUE];
  if (value === undefined) {
    value = JSON.parse(utf8Text(this[RECORD_BYTES])) as JsonObject;
    Object.defineProperty(this, RECORD_VALUE, { value, enumerable: false });
  }
  return value;
}

/** A 2.x record read by parseRecordBytes: its hash input text, canonicalized only when asked for (one getter for all). */
function lazyHashInputText(this: SignedRecord & { [HASH_INPUT_TEXT]?: string }): string {
  let text = this[HASH_INPUT_TEXT];
  if (text === undefined) {
    text = this.format === '2.1.0' ? hashInputTextV2_1(this.record) : hashInputTextV2(this.record);
    Object.defineProperty(this, HASH_INPUT_TEXT, { value: text, enumerable: false });
  }
  return text;
}

/**
 * SHA-256 of the record's hash input: the digest parseRecordBytes already
 * made, else that of `hashInputText` (natively: node:crypto, or WebCrypto
 * in browsers).
 */
export function hashInputDigest(rec: SignedRecord): Promise<Uint8Array> {
  const made = (rec as { [HASH_INPUT_DIGEST]?: Uint8Array })[HASH_INPUT_DIGEST];
  return made ? Promise.resolve(made) : sha256Utf8Async(rec.hashInputText);
}

/** A proof is checked by @erst/verify; here only its type and size, so that no record makes a reader hold more. */
function logProofField(rec: JsonObject): string {
  const proof = stringField(rec, 'log_proof');
  // UTF-8 is never shorter than UTF-16, so the length check first bounds the encoding's cost; and at most 3 bytes
  // a unit, so a proof of up to a third of the limit (every real one) is not encoded at all.
  if (
    proof.length > MAX_LOG_PROOF_BYTES ||
    (proof.length * 3 > MAX_LOG_PROOF_BYTES && utf8Bytes(proof).length > MAX_LOG_PROOF_BYTES)
  ) {
    throw new ErstError('ERR_RECORD_FIELD_FORMAT', `field "log_proof" is longer than ${MAX_LOG_PROOF_BYTES} bytes`, {
      details: { field: 'log_proof', limit: MAX_LOG_PROOF_BYTES },
    });
  }
  return proof;
}

/**
 * Whether `text` can be a 2.1.0 record's `timestamp_token`: standard base64
 * with padding and no other spelling of the same bytes (one token, one text),
 * non-empty, at most MAX_TIMESTAMP_TOKEN_BYTES of DER. The length is checked
 * before decoding. What the bytes say is @erst/verify's to check.
 */
export function isTimestampTokenText(text: string): boolean {
  if (text === '' || text.length > Math.ceil(MAX_TIMESTAMP_TOKEN_BYTES / 3) * 4) return false;
  const der = base64ToBytes(text);
  return der !== undefined && der.length <= MAX_TIMESTAMP_TOKEN_BYTES && bytesToBase64(der) === text;
}

function timestampTokenField(rec: JsonObject): string {
  const text = stringField(rec, 'timestamp_token');
  if (!isTimestampTokenText(text)) {
    throw new ErstError(
      'ERR_RECORD_FIELD_FORMAT',
      `field "timestamp_token" must be canonical standard base64 (with padding) of 1 to ${MAX_TIMESTAMP_TOKEN_BYTES} bytes`,
      { details: { field: 'timestamp_token', limit: MAX_TIMESTAMP_TOKEN_BYTES } },
    );
  }
  return text;
}

const V1_FIELDS = ['version', 'timestamp', 'transaction_hash', 'trace_hash', 'signature', 'public_key', 'payload'];

function parseV1(rec: JsonObject, format: '1.1.0' | '1.0.0'): SignedRecord {
  const allowed = format === '1.1.0' ? [...V1_FIELDS, 'hardware_attestation'] : V1_FIELDS;
  // Anything else in a 1.x record would be unsigned data that looks authoritative.
  rejectUnknown(rec, allowed, '');
  const timestamp = timestampField(rec, 'timestamp');
  const transactionHash = stringField(rec, 'transaction_hash');
  const claimedHash = hexString(rec, 'trace_hash', 32);
  const signature = hexField(rec, 'signature', 64);
  const publicKey = keyField(rec, 'public_key', 'ed25519');
  const payload = parseErstPayload(required(rec, 'payload'));
  const attestation = Object.hasOwn(rec, 'hardware_attestation')
    ? parseAttestation(rec.hardware_attestation!, false)
    : undefined;
  return withLazyBytes({
    format,
    algorithm: 'ed25519',
    publicKey,
    signature,
    logProof: undefined,
    timestampToken: undefined,
    claimedHash,
    hashInputText: format === '1.0.0' ? hashInputTextV1_0(payload) : hashInputTextV1_1(payload, attestation),
    signedMessage: 'digest',
    covered: attestation ? ['payload', 'hardware_attestation'] : ['payload'],
    uncovered: ['version', 'timestamp', 'transaction_hash'],
    transactionHash,
    timestamp,
    attestation,
    record: rec,
  });
}

function parseLegacyTs(rec: JsonObject): SignedRecord {
  rejectUnknown(rec, ['trace', 'hash', 'signature', 'algorithm', 'publicKey', 'signer', 'hardware_attestation'], '');
  const trace = asObject(required(rec, 'trace'), 'trace');
  const claimedHash = hexString(rec, 'hash', 32);
  const signature = hexField(rec, 'signature', 64);
  const algorithm = stringField(rec, 'algorithm');
  if (algorithm !== 'Ed25519+SHA256') {
    throw new ErstError(
      'ERR_ALGORITHM_UNSUPPORTED',
      `unsupported algorithm ${JSON.stringify(algorithm)} in an erst TypeScript record; expected "Ed25519+SHA256"`,
    );
  }
  const pem = stringField(rec, 'publicKey');
  let publicKey: PublicKey;
  try {
    publicKey = publicKeyFromPem(pem);
  } catch (cause) {
    throw new ErstError('ERR_RECORD_FIELD_FORMAT', 'field "publicKey" is not exactly one SPKI PEM public key block', {
      cause,
      details: { field: 'publicKey' },
    });
  }
  if (publicKey.algorithm !== 'ed25519') {
    throw new ErstError('ERR_RECORD_FIELD_FORMAT', 'field "publicKey" must be an Ed25519 key', {
      details: { field: 'publicKey' },
    });
  }
  if (Object.hasOwn(rec, 'signer')) asObject(rec.signer!, 'signer');
  const attestation = Object.hasOwn(rec, 'hardware_attestation')
    ? parseAttestation(rec.hardware_attestation!, false)
    : undefined;
  // Key validity windows are checked against this date: one that is not a date must not pass for any.
  const timestamp = Object.hasOwn(trace, 'timestamp') ? timestampField(trace, 'timestamp', 'trace.') : undefined;
  return withLazyBytes({
    format: 'erst-ts',
    algorithm: 'ed25519',
    publicKey,
    signature,
    logProof: undefined,
    timestampToken: undefined,
    claimedHash,
    hashInputText: hashInputTextLegacyTs(trace, attestation),
    signedMessage: 'digest-hex',
    covered: attestation ? ['trace', 'hardware_attestation'] : ['trace'],
    uncovered: ['algorithm', 'signer'].filter((f) => Object.hasOwn(rec, f)),
    transactionHash: undefined,
    timestamp,
    attestation,
    record: rec,
  });
}

export function parseErstPayload(value: JsonValue, path = 'payload'): ErstPayload {
  const p = asObject(value, path);
  rejectUnknown(p, ['envelope_xdr', 'result_meta_xdr', 'events', 'logs'], `${path}.`);
  return {
    envelope_xdr: stringField(p, 'envelope_xdr', `${path}.`),
    result_meta_xdr: stringField(p, 'result_meta_xdr', `${path}.`),
    events: stringListOrNull(p, 'events', `${path}.`),
    logs: stringListOrNull(p, 'logs', `${path}.`),
  };
}

export function parseAttestation(value: JsonValue, allowKeyAttributes: boolean): HardwareAttestation {
  const path = 'hardware_attestation';
  const a = asObject(value, path);
  const allowed = ['certificates', 'token_info', 'key_non_exportable', 'retrieved_at'];
  if (allowKeyAttributes) allowed.push('key_attributes');
  rejectUnknown(a, allowed, `${path}.`);
  const rawCerts = required(a, 'certificates', `${path}.`);
  let certificates: AttestationCertificate[] | null = null;
  if (rawCerts !== null) {
    if (!Array.isArray(rawCerts)) throw typeError(`${path}.certificates`, 'an array or null');
    certificates = rawCerts.map((c, i) => {
      const p = `${path}.certificates[${i}]`;
      const o = asObject(c, p);
      rejectUnknown(o, ['pem', 'subject', 'issuer', 'serial'], `${p}.`);
      return {
        pem: stringField(o, 'pem', `${p}.`),
        subject: stringField(o, 'subject', `${p}.`),
        issuer: stringField(o, 'issuer', `${p}.`),
        serial: stringField(o, 'serial', `${p}.`),
      };
    });
  }
  const keyNonExportable = required(a, 'key_non_exportable', `${path}.`);
  if (typeof keyNonExportable !== 'boolean') throw typeError(`${path}.key_non_exportable`, 'a boolean');
  const out: HardwareAttestation = {
    certificates,
    token_info: stringField(a, 'token_info', `${path}.`),
    key_non_exportable: keyNonExportable,
    retrieved_at: timestampField(a, 'retrieved_at', `${path}.`),
  };
  if (Object.hasOwn(a, 'key_attributes')) {
    const ka = asObject(a.key_attributes!, `${path}.key_attributes`);
    rejectUnknown(ka, KEY_ATTRIBUTE_NAMES, `${path}.key_attributes.`);
    const attrs: KeyAttributes = {};
    for (const name of KEY_ATTRIBUTE_NAMES) {
      if (!Object.hasOwn(ka, name)) continue;
      if (typeof ka[name] !== 'boolean') throw typeError(`${path}.key_attributes.${name}`, 'a boolean');
      attrs[name] = ka[name] as boolean;
    }
    out.key_attributes = attrs;
  }
  return out;
}

const HASH_INPUT_BYTES = Symbol('hashInputBytes');

// One getter shared by every record. A closure per record gives each record
// object a hidden class of its own, which V8 keeps reachable (with the record
// and its 17 KB hash input) from the transition tree until a full GC: that
// doubled the cost of verifying an archive, most of it in the scavenger.
function hashInputBytes(this: Omit<SignedRecord, 'hashInput'> & { [HASH_INPUT_BYTES]?: Uint8Array }): Uint8Array {
  let bytes = this[HASH_INPUT_BYTES];
  if (!bytes) {
    bytes = utf8Bytes(this.hashInputText);
    Object.defineProperty(this, HASH_INPUT_BYTES, { value: bytes, enumerable: false });
  }
  return bytes;
}

/** Adds `hashInput` as bytes made only if someone asks (verification hashes the text directly). */
function withLazyBytes(rec: Omit<SignedRecord, 'hashInput'>): SignedRecord {
  return Object.defineProperty(rec, 'hashInput', { enumerable: true, get: hashInputBytes }) as SignedRecord;
}

// ---- field helpers: every message names the field path ----

function asObject(value: JsonValue | undefined, path: string): JsonObject {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    if (path === '$')
      throw new ErstError('ERR_RECORD_NOT_OBJECT', `a record must be a JSON object, not ${describe(value)}`);
    throw typeError(path, 'an object');
  }
  return value;
}

function required(obj: JsonObject, field: string, prefix = ''): JsonValue {
  if (!Object.hasOwn(obj, field)) {
    throw new ErstError('ERR_RECORD_FIELD_MISSING', `required field "${prefix}${field}" is missing`, {
      details: { field: prefix + field },
    });
  }
  return obj[field]!;
}

function stringField(obj: JsonObject, field: string, prefix = ''): string {
  const v = required(obj, field, prefix);
  if (typeof v !== 'string') throw typeError(prefix + field, 'a string', v);
  return v;
}

function stringListOrNull(obj: JsonObject, field: string, prefix: string): string[] | null {
  const v = required(obj, field, prefix);
  if (v === null) return null;
  if (!Array.isArray(v)) throw typeError(prefix + field, 'an array of strings or null', v);
  v.forEach((item, i) => {
    if (typeof item !== 'string') throw typeError(`${prefix}${field}[${i}]`, 'a string', item);
  });
  return v as string[];
}

function timestampField(obj: JsonObject, field: string, prefix = ''): string {
  const s = stringField(obj, field, prefix);
  if (!isRfc3339(s)) {
    throw new ErstError(
      'ERR_RECORD_FIELD_FORMAT',
      `field "${prefix}${field}" is not an RFC 3339 timestamp of a real date and time`,
      {
        details: { field: prefix + field },
      },
    );
  }
  return s;
}

function hexString(obj: JsonObject, field: string, bytes: number): string {
  const s = stringField(obj, field);
  if (s.length !== bytes * 2 || !isLowerHex(s)) {
    throw new ErstError(
      'ERR_RECORD_FIELD_FORMAT',
      `field "${field}" must be ${bytes * 2} lowercase hex characters (${bytes} bytes); got ${s.length} characters${isLowerHex(s) ? '' : ' that are not lowercase hex'}`,
      { details: { field } },
    );
  }
  return s;
}

function hexField(obj: JsonObject, field: string, bytes: number): Uint8Array {
  return hexToBytes(hexString(obj, field, bytes))!;
}

function keyField(obj: JsonObject, field: string, alg: Algorithm): PublicKey {
  const raw = hexField(obj, field, PUBLIC_KEY_LENGTH[alg]);
  try {
    return publicKeyFromRaw(raw, alg);
  } catch (cause) {
    throw new ErstError('ERR_RECORD_FIELD_FORMAT', `field "${field}" is not a valid ${alg} public key`, {
      cause,
      details: { field },
    });
  }
}

function rejectUnknown(obj: JsonObject, allowed: readonly string[], prefix: string): void {
  for (const key of Object.keys(obj)) {
    if (!allowed.includes(key)) {
      throw new ErstError(
        'ERR_RECORD_FIELD_UNKNOWN',
        `unknown field "${prefix}${key}": it is not covered by this format's signature`,
        {
          details: { field: prefix + key },
        },
      );
    }
  }
}

function typeError(path: string, expected: string, got?: JsonValue): ErstError {
  const suffix = got === undefined ? '' : `, not ${describe(got)}`;
  return new ErstError('ERR_RECORD_FIELD_TYPE', `field "${path}" must be ${expected}${suffix}`, {
    details: { field: path },
  });
}

function describe(v: JsonValue | undefined): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'an array';
  if (v === undefined) return 'nothing';
  return typeof v === 'object' ? 'an object' : `a ${typeof v}`;
}
