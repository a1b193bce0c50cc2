// A 2.x record's line made from its input line's bytes: the same bytes as
// `JSON.stringify(generateWithSigner(...))`, without serializing the payload
// twice (once canonical, to hash; once in reading order, to write). For a
// 17 KB payload those two serializations, the canonical string's UTF-8
// encoding and the garbage they leave were most of a signing thread's time.
import { createHash } from 'node:crypto';
import {
  type HardwareAttestation,
  type PublicKey,
  type WritableSchema,
  bytesToHex,
  canonicalize,
  parseAttestation,
  scanCanonical,
} from '@erst/core';

/**
 * Every input line is `{"transaction_hash":"<64 hex>","payload":` + P + `}`
 * for the lines this path takes (what erst's own writers and gen-payloads
 * write): anything else (another member order, whitespace outside P) takes
 * the general path.
 */
const LINE_HEAD = Buffer.from('{"transaction_hash":"');
const PAYLOAD_KEY = Buffer.from('","payload":');
const TX_AT = LINE_HEAD.length;
const P_AT = TX_AT + 64 + PAYLOAD_KEY.length;
/** `"payload":` before the payload's canonical bytes in scanCanonical's member. */
const MEMBER_KEY = '"payload":'.length;
const QUOTE = 0x22;

/** What the general path writes, less what changes per record: made once per batch. */
export interface FastRecordConfig {
  readonly schema: WritableSchema;
  readonly publicKey: PublicKey;
  /** The signer's attestation as given to generateWithSigner (undefined or null: none). */
  readonly attestation: HardwareAttestation | null | undefined;
}

/** A record made by `FastRecords.make`: its digest (to sign, when records are signed) and its line's pieces. */
export interface FastRecord {
  readonly digest: Uint8Array;
  readonly traceHash: string;
  /** The line is `head`, then the input's bytes [payloadStart, payloadEnd), then `tail(signature)`. */
  readonly head: string;
  readonly payloadStart: number;
  readonly payloadEnd: number;
  tail(signatureHex: string | undefined): string;
}

/**
 * Makes 2.0.0 and 2.1.0 records from input lines whose payload text is
 * exactly what `JSON.stringify` writes for the payload it parses to, so that
 * the text can be both written as it is and hashed as scanCanonical orders
 * it. `make` returns undefined for any other line: the caller then takes the
 * general path (parse, generateWithSigner, JSON.stringify), which gives the
 * same bytes or the error. The caller has parsed the line with
 * parseStrictJson and checked it as a sign document (lineDocument): valid
 * UTF-8, no repeated key, a 64-hex transaction hash, an object payload.
 */
export class FastRecords {
  readonly #version: string;
  readonly #algorithm: string;
  readonly #publicKeyHex: string;
  /** The hash input up to the payload: `{"algorithm":...,` with the attestation, if any. */
  readonly #hashHead: string;
  /** `,"hardware_attestation":{...}` as JSON.stringify writes it after the payload, or ''. */
  readonly #attestationJson: string;

  private constructor(schema: WritableSchema, publicKey: PublicKey, attestation: HardwareAttestation | undefined) {
    this.#version = JSON.stringify(schema);
    this.#algorithm = JSON.stringify(publicKey.algorithm);
    this.#publicKeyHex = bytesToHex(publicKey.raw);
    // canonicalize sorts: algorithm < hardware_attestation < payload < public_key < timestamp < transaction_hash < version.
    this.#hashHead = `{"algorithm":${this.#algorithm},${attestation ? `"hardware_attestation":${canonicalize(attestation)},` : ''}`;
    this.#attestationJson = attestation ? `,"hardware_attestation":${JSON.stringify(attestation)}` : '';
  }

  /**
   * The fast path for these settings, or undefined where it does not apply
   * (1.1.0, whose hash input is another text; an attestation
   * generateWithSigner would refuse, which it then does, record by record).
   */
  static for(config: FastRecordConfig): FastRecords | undefined {
    if (config.schema !== '2.0.0' && config.schema !== '2.1.0') return undefined;
    let attestation: HardwareAttestation | undefined;
    if (config.attestation) {
      try {
        // What generateWithSigner puts in the record and hashes (parsed: members in its order).
        attestation = parseAttestation(config.attestation as never, true);
      } catch {
        return undefined;
      }
    }
    return new FastRecords(config.schema, config.publicKey, attestation);
  }

  /** The record of `line` (a transaction `tx`) made at `now`, or undefined when the line is not one this path takes. */
  make(line: Uint8Array, tx: string, now: Date): FastRecord | undefined {
    const bytes = Buffer.from(line.buffer, line.byteOffset, line.length);
    const n = bytes.length;
    if (n < P_AT + 3 || bytes[n - 1] !== 0x7d) return undefined;
    if (!LINE_HEAD.equals(bytes.subarray(0, TX_AT))) return undefined;
    if (bytes.toString('latin1', TX_AT, TX_AT + 64) !== tx) return undefined;
    if (!PAYLOAD_KEY.equals(bytes.subarray(TX_AT + 64, P_AT))) return undefined;
    const payloadEnd = n - 1;
    // Every string and number spelled as JSON.stringify spells it (or undefined), members copied in canonical order.
    const scanned = scanCanonical(bytes);
    if (scanned?.keys.length !== 2 || scanned.keys[1] !== 'payload') return undefined;
    const memberStart = scanned.starts[1]!;
    const memberEnd = scanned.ends[1]!;
    // The same tokens: equally long only if the payload's text has no whitespace between them.
    if (memberEnd - memberStart - MEMBER_KEY !== payloadEnd - P_AT) return undefined;
    // JSON.stringify writes an object's integer-like keys first, in numeric order: such a payload takes the general path.
    if (hasDigitKey(bytes, P_AT, payloadEnd)) return undefined;
    const timestamp = JSON.stringify(now.toISOString());
    const txJson = JSON.stringify(tx);
    const pk = `"${this.#publicKeyHex}"`;
    const digest = createHash('sha256')
      .update(this.#hashHead)
      .update(scanned.bytes.subarray(memberStart, memberEnd))
      .update(`,"public_key":${pk},"timestamp":${timestamp},"transaction_hash":${txJson},"version":${this.#version}}`)
      .digest();
    const traceHash = bytesToHex(digest);
    const seals = `${this.#attestationJson},"trace_hash":"${traceHash}"`;
    return {
      digest,
      traceHash,
      head: `{"version":${this.#version},"timestamp":${timestamp},"transaction_hash":${txJson},"algorithm":${this.#algorithm},"public_key":${pk},"payload":`,
      payloadStart: P_AT,
      payloadEnd,
      tail: (signatureHex) => (signatureHex === undefined ? `${seals}}` : `${seals},"signature":"${signatureHex}"}`),
    };
  }
}

/**
 * Whether the JSON text in [start, end) may have a key of digits only (an
 * array index, which an object lists first). Conservative: it looks for a
 * quote, digits, a quote and a colon, which every such key is in a text
 * without whitespace; inside a string a quote is always escaped, so what it
 * finds there is a key anyway (ending in an escaped quote and digits), only
 * not a digit key: the general path then writes it, as ever.
 */
export function hasDigitKey(bytes: Buffer, start: number, end: number): boolean {
  for (let i = bytes.indexOf('":', start, 'latin1'); i !== -1 && i < end; i = bytes.indexOf('":', i + 2, 'latin1')) {
    let k = i - 1;
    while (k >= start && bytes[k]! >= 0x30 && bytes[k]! <= 0x39) k--;
    if (k < i - 1 && k >= start && bytes[k] === QUOTE) return true;
  }
  return false;
}
