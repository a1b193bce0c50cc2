import { V2_1_SEAL_FIELDS, V2_SEAL_FIELDS } from './hash-input.js';
import { scanCanonicalText } from './jcs-string.js';
import {
  type ScannedObject,
  assembleCanonical,
  isScannableText,
  scanCanonical,
  scannedHead,
  utf8Text,
} from './jcs-text.js';
import { DEFAULT_MAX_INPUT_BYTES, type JsonObject, type ParseJsonOptions, parseStrictJson } from './json.js';
import {
  type ParseRecordBytesOptions,
  type SignedRecord,
  detectFormat,
  parseRecord,
  parseRecordBytes,
  parseV2,
  withLazyRecord,
} from './parse.js';
import { hasNativeSha256 } from './sha256.js';
import { decodeUtf8Text } from './utf8-text.js';

/** SHA-256 that answers later; it must have read its input before it returns (WebCrypto's digest copies it). */
export type AsyncSha256 = (bytes: Uint8Array) => Promise<Uint8Array>;

const subtle = (globalThis.crypto as Crypto | undefined)?.subtle;
const webSha256: AsyncSha256 | undefined = subtle
  ? async (bytes) => new Uint8Array(await subtle.digest('SHA-256', bytes as Uint8Array<ArrayBuffer>))
  : undefined;

/**
 * `parseRecordBytes`, for where SHA-256 is asynchronous (browsers, their
 * workers: WebCrypto): the same record or the same error, as a promise. The
 * usual record (strings and numbers spelled as JSON.stringify spells them)
 * has its 2.x hash input read off its text, by the string scan of
 * jcs-string.ts, and hashed natively with WebCrypto, instead of being
 * rebuilt by `canonicalize` and encoded again; any other record takes the
 * general path, `parseRecord(parseStrictJson(bytes))`. Where node:crypto is
 * there (Node), or WebCrypto is not, it is `parseRecordBytes`.
 */
export async function parseRecordBytesAsync(
  bytes: Uint8Array,
  options: ParseRecordBytesOptions = {},
): Promise<SignedRecord> {
  if (hasNativeSha256 || !webSha256) return parseRecordBytes(bytes, options);
  return (await textRecord(bytes, options, webSha256)) ?? parseRecord(parseStrictJson(bytes, options));
}

/**
 * The record, when the text fast path applies (a promise: its digest is
 * being made by `sha256`); undefined sends the caller to the general path.
 * Throws (or rejects with) the general path's error for a record whose JSON
 * is sound but whose fields are not. Exported for the tests.
 */
export function textRecord(
  bytes: Uint8Array,
  options: ParseRecordBytesOptions,
  sha256: AsyncSha256,
): Promise<SignedRecord> | undefined {
  const read = readBytes(bytes, options) ?? readText(bytes, options);
  if (!read) return undefined;
  const { value, scanned, compact } = read;
  // What parseRecord does, with the digest made from the scan (as parseRecordBytes' fast path does).
  const format = detectFormat(value);
  if (format !== '2.1.0' && format !== '2.0.0') return Promise.resolve(parseRecord(wholeValue(read, bytes)));
  // Started now, while the scan's scratch bytes hold this record: sha256 has read them when it returns.
  const digest = sha256(assembleCanonical(scanned, format === '2.1.0' ? V2_1_SEAL_FIELDS : V2_SEAL_FIELDS));
  return digest.then((d) =>
    lazyIfCompact(
      parseV2(value, format, () => d),
      compact,
      bytes,
      options,
    ),
  );
}

/** `textRecord`, with a synchronous SHA-256: for the tests, which run parseRecordBytes' own tests against it. */
export function textRecordSync(
  bytes: Uint8Array,
  options: ParseRecordBytesOptions,
  sha256: (bytes: Uint8Array) => Uint8Array,
): SignedRecord | undefined {
  const read = readBytes(bytes, options) ?? readText(bytes, options);
  if (!read) return undefined;
  const { value, scanned, compact } = read;
  const format = detectFormat(value);
  if (format !== '2.1.0' && format !== '2.0.0') return parseRecord(wholeValue(read, bytes));
  const omitted = format === '2.1.0' ? V2_1_SEAL_FIELDS : V2_SEAL_FIELDS;
  const rec = parseV2(value, format, () => sha256(assembleCanonical(scanned, omitted)));
  return lazyIfCompact(rec, compact, bytes, options);
}

/** The record's whole JSON: a compact text's head left its payload out, which the formats before 2.x need. */
function wholeValue(read: Read, bytes: Uint8Array): JsonObject {
  return read.compact ? (JSON.parse(utf8Text(bytes)) as JsonObject) : read.value;
}

/**
 * A record read from a compact text gets its `record` parsed when read, from the bytes borrowed or copied as
 * parseRecordBytes does (in Chromium, a copy of each record cost more than its parse).
 */
function lazyIfCompact(
  rec: SignedRecord,
  compact: boolean,
  bytes: Uint8Array,
  options: ParseRecordBytesOptions,
): SignedRecord {
  return compact ? withLazyRecord(rec, options.borrow ? bytes : bytes.slice()) : rec;
}

/** What the two readers give: the parsed record (for a compact text, its head: the payload is `{}`) and its scan. */
interface Read {
  value: JsonObject;
  scanned: ScannedObject;
  /** Only the head was parsed (readBytes). */
  compact: boolean;
}

/**
 * The record's head and its scanned members, for a compact text (no control
 * character, UTF-8: isScannableText) the byte scan takes, as parseRecordBytes
 * reads one: the record's text is never made (in Chromium's workers, making
 * it was a fifth of a verifier's time), and only the top level is parsed.
 */
function readBytes(bytes: Uint8Array, options: ParseJsonOptions): Read | undefined {
  if (bytes.byteLength > (options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES) || !isScannableText(bytes)) return undefined;
  const scanned = scanCanonical(bytes);
  if (!scanned) return undefined;
  try {
    return { value: scannedHead(scanned, 'payload'), scanned, compact: true };
  } catch {
    return undefined;
  }
}

/**
 * The parsed record and its scanned members, when the fast path applies:
 * valid UTF-8 (decoded as strict decoding does), within `maxBytes`, a text
 * the scan takes. The scan found no repeated key, no number that is not
 * exact, no escaped surrogate, no nesting too deep: what parseStrictJson
 * checks beyond JSON.parse (and UTF-8 holds no lone surrogate). So
 * parseStrictJson(bytes) is this value.
 */
function readText(bytes: Uint8Array, options: ParseJsonOptions): Read | undefined {
  if (bytes.byteLength > (options.maxBytes ?? DEFAULT_MAX_INPUT_BYTES)) return undefined;
  const decoded = decodeUtf8Text(bytes);
  if (!decoded) return undefined;
  // Before JSON.parse: the scan refuses nesting past MAX_JSON_DEPTH, so nothing deep is ever built.
  const scanned = scanCanonicalText(decoded, bytes);
  if (!scanned) return undefined;
  try {
    return { value: JSON.parse(decoded.text) as JsonObject, scanned, compact: false };
  } catch {
    return undefined;
  }
}
