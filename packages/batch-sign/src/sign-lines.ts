// What a signing thread does to a block of input lines (split, parse, check,
// build, canonicalize, hash, sign, serialize), kept apart from the thread's
// glue so that a batch too small to be worth a thread runs the very same
// code on its own thread. Loads only @erst/core.
import { type KeyObject, sign as nodeSign } from 'node:crypto';
import { type Signer, bytesToHex, digestError, errorCategory, generateWithSigner, isErstError } from '@erst/core';
import { FastRecords } from './fast-record.js';
import { LineError, lineDocument } from './line-document.js';
import {
  BAD,
  BAD_WITH_TX,
  type BadEntry,
  type BlockResult,
  COLUMNS,
  IN_END,
  IN_START,
  OUT_END,
  REL_LINE,
  SIGNED,
  TOO_LONG,
  type ThreadConfig,
} from './thread-protocol.js';

const NL = 0x0a;
const CR = 0x0d;
const encoder = new TextEncoder();

/** Spaces, tabs and CRs only: a line the batch skips (as @erst/archive's LineSplitter does). */
function isBlank(b: Uint8Array, start: number, end: number): boolean {
  for (let i = start; i < end; i++) {
    const c = b[i]!;
    if (c !== 0x20 && c !== 0x09 && c !== CR) return false;
  }
  return true;
}

/** The lines of a block: how many (blank ones included), and per non-blank line a row of `LINE_COLUMNS`. */
export interface BlockLines {
  readonly lines: number;
  readonly rows: Uint32Array;
}
/** Per row: the line (counted from the block's first, 0); where its bytes start and end (no newline, no CR before it); its size when over the limit, else 0. */
export const LINE_COLUMNS = 4;

/**
 * Cuts a block into lines as @erst/archive's LineSplitter cuts a stream
 * (the splitter a batch read line by line with): on "\n"; one CR before it
 * dropped; blank lines skipped but counted; a line over `maxLineBytes`
 * (newline excluded, CR included) reported by its size; a last line
 * without a newline still a line.
 */
export function splitLines(bytes: Buffer, length: number, maxLineBytes: number): BlockLines {
  let rows = new Uint32Array(LINE_COLUMNS * 64);
  let n = 0;
  let rel = 0;
  for (let start = 0; start < length; rel++) {
    const nl = bytes.indexOf(NL, start);
    const end = nl === -1 ? length : nl;
    let last = end;
    const over = end - start > maxLineBytes;
    if (!over && last > start && bytes[last - 1] === CR) last--;
    if (over || !isBlank(bytes, start, last)) {
      if (n * LINE_COLUMNS === rows.length) {
        const grown = new Uint32Array(rows.length * 2);
        grown.set(rows);
        rows = grown;
      }
      const row = n++ * LINE_COLUMNS;
      rows[row] = rel;
      rows[row + 1] = start;
      rows[row + 2] = last;
      rows[row + 3] = over ? end - start : 0;
    }
    start = end + 1;
  }
  return { lines: rel, rows: rows.subarray(0, n * LINE_COLUMNS) };
}

/** Turns blocks of input lines (cut by `splitLines`) into their output lines. */
export class BlockSigner {
  readonly #config: ThreadConfig;
  readonly #signer: Signer;
  /** Compact lines made off the input's bytes where that gives the same bytes (see FastRecords). */
  readonly #fast: FastRecords | undefined;
  /** Output buffers written and handed back, to fill again. */
  readonly #spare: ArrayBuffer[] = [];
  #out = new Uint8Array(0);
  #size = 0;

  constructor(config: ThreadConfig) {
    this.#config = config;
    this.#fast =
      config.layout === 'line'
        ? FastRecords.for({
            schema: config.schema,
            publicKey: config.publicKey,
            attestation: config.attestation ?? null,
          })
        : undefined;
    const key: KeyObject | undefined = config.key;
    const signing = config.signing;
    // The thread's own signer from the signer's module, loaded once, on first use
    // (this thread's signer when no block is signed here costs nothing).
    let onThread: Promise<(digest: Uint8Array) => Uint8Array> | undefined;
    // The same signatures as InMemorySigner's (RFC 8032 Ed25519 over the digest),
    // or as the token's signer's: made here, synchronously, the thread being
    // the unit of parallelism. With neither, records are sealed by a log's
    // checkpoint instead: nothing is signed here (recordSignature is false),
    // and the records name the signer's algorithm and attestation as the
    // signer itself would.
    this.#signer = {
      algorithm: config.publicKey.algorithm,
      publicKey: async () => config.publicKey,
      sign: async (digest) => {
        const bad = digestError(digest);
        if (bad) throw bad;
        if (key) return nodeSign(null, digest, key);
        if (!signing) throw new Error('this signing thread has no key');
        onThread ??= import(signing.module).then(
          (m: { openThreadSigner: (data: unknown) => (digest: Uint8Array) => Uint8Array }) =>
            m.openThreadSigner(signing.data),
        );
        return (await onThread)(digest);
      },
    };
  }

  /** An output buffer of an earlier result, written: it is filled again. */
  recycle(buffer: ArrayBuffer): void {
    this.#spare.push(buffer);
  }

  /**
   * Signs the lines of `data`'s first `length` bytes. Throws only what stops
   * the batch (the signer's failure); a bad line is an entry of the result.
   */
  async sign(data: ArrayBuffer, length: number): Promise<BlockResult> {
    const bytes = Buffer.from(data, 0, length);
    const { lines, rows } = splitLines(bytes, length, this.#config.maxLineBytes);
    const entries = rows.length / LINE_COLUMNS;
    const table = new Uint32Array(entries * COLUMNS);
    const kinds = new Uint8Array(entries);
    const txs: string[] = [];
    const traceHashes: string[] = [];
    const bad: BadEntry[] = [];
    this.#out = new Uint8Array(this.#spare.pop() ?? new ArrayBuffer(0));
    this.#size = 0;
    for (let i = 0; i < entries; i++) {
      const r = i * LINE_COLUMNS;
      const [start, end, over] = [rows[r + 1]!, rows[r + 2]!, rows[r + 3]!];
      if (over > 0) {
        kinds[i] = TOO_LONG;
        bad.push({ entry: i, code: 'ERR_INPUT_TOO_LARGE', message: '', size: over });
      } else {
        const outcome = await this.#signLine(bytes.subarray(start, end));
        kinds[i] = outcome.kind;
        if (outcome.transactionHash !== undefined) txs.push(outcome.transactionHash);
        if (outcome.traceHash !== undefined) traceHashes.push(outcome.traceHash);
        if (outcome.bad) bad.push({ entry: i, ...outcome.bad });
      }
      const row = i * COLUMNS;
      table[row + REL_LINE] = rows[r]!;
      table[row + IN_START] = start;
      table[row + IN_END] = end;
      table[row + OUT_END] = this.#size;
    }
    const out = this.#out.buffer as ArrayBuffer;
    this.#out = new Uint8Array(0);
    return { lines, table, kinds, txs: txs.join(''), traceHashes: traceHashes.join(''), bad, out, data };
  }

  /** Room for `bytes` more output bytes; a larger buffer keeps what was written. */
  #reserve(bytes: number): void {
    if (this.#size + bytes <= this.#out.length) return;
    const want = Math.max(2 * this.#out.length, this.#size + bytes, 256 * 1024);
    const i = this.#spare.findIndex((b) => b.byteLength >= want);
    const next = new Uint8Array(i === -1 ? new ArrayBuffer(want) : this.#spare.splice(i, 1)[0]!);
    next.set(this.#out.subarray(0, this.#size));
    if (this.#out.length > 0) this.#spare.push(this.#out.buffer as ArrayBuffer);
    this.#out = next;
  }

  /** Signs one line into the output (its record and a newline), or says why it is a bad line. */
  async #signLine(
    bytes: Uint8Array,
  ): Promise<{ kind: number; transactionHash?: string; traceHash?: string; bad?: { code: string; message: string } }> {
    let transactionHash: string | undefined;
    try {
      const document = lineDocument(bytes);
      transactionHash = document.transactionHash;
      const fast = this.#fast?.make(bytes, transactionHash, new Date());
      if (fast) {
        const signature = this.#config.recordSignature ? bytesToHex(await this.#signer.sign(fast.digest)) : undefined;
        const tail = fast.tail(signature);
        const payload = bytes.subarray(fast.payloadStart, fast.payloadEnd);
        this.#reserve(3 * (fast.head.length + tail.length) + payload.length + 1);
        this.#size += encoder.encodeInto(fast.head, this.#out.subarray(this.#size)).written;
        this.#out.set(payload, this.#size);
        this.#size += payload.length;
        this.#size += encoder.encodeInto(tail, this.#out.subarray(this.#size)).written;
        this.#out[this.#size++] = NL;
        return { kind: SIGNED, transactionHash, traceHash: fast.traceHash };
      }
      const record = await generateWithSigner(this.#signer, document, {
        schema: this.#config.schema,
        recordSignature: this.#config.recordSignature,
        // The signer's, asked once for the batch (a software key has none).
        attestation: this.#config.attestation ?? null,
      });
      const text = this.#config.layout === 'indented' ? JSON.stringify(record, null, 2) : JSON.stringify(record);
      // Encoded in place: no string with the newline, no array per record.
      this.#reserve(3 * text.length + 1);
      this.#size += encoder.encodeInto(text, this.#out.subarray(this.#size)).written;
      this.#out[this.#size++] = NL;
      return { kind: SIGNED, transactionHash, traceHash: record.trace_hash };
    } catch (e) {
      // What would be a bad line signed on the main thread is one here too; the
      // main thread still checks repeats and the output first, as it does there.
      if (e instanceof LineError) return { kind: BAD, bad: { code: e.code, message: e.message } };
      if (isErstError(e) && errorCategory(e.code) === 'input')
        return transactionHash === undefined
          ? { kind: BAD, bad: { code: e.code, message: e.message } }
          : { kind: BAD_WITH_TX, transactionHash, bad: { code: e.code, message: e.message } };
      throw e;
    }
  }
}
