import { type VerifyResult, verifiedCheckpointNote } from '@erst/verify';
import type { ChunkLog } from './protocol.js';

const decoder = new TextDecoder();
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = new Set([0x7b, 0x5b]);
const CLOSE = new Set([0x7d, 0x5d]);
const WHITESPACE = new Set([0x20, 0x09, 0x0a, 0x0d]);
const LOG_PROOF = new TextEncoder().encode('"log_proof"');

/** The index of the quote that closes the JSON string opened at `start`, or -1. */
function stringEnd(bytes: Uint8Array, start: number): number {
  let at = start;
  for (;;) {
    at = bytes.indexOf(QUOTE, at + 1);
    if (at < 0) return -1;
    let escapes = 0;
    while (bytes[at - 1 - escapes] === BACKSLASH) escapes++;
    if (escapes % 2 === 0) return at;
  }
}

function skipWhitespace(bytes: Uint8Array, at: number): number {
  while (WHITESPACE.has(bytes[at]!)) at++;
  return at;
}

function isLogProofKey(bytes: Uint8Array, start: number, end: number): boolean {
  if (end + 1 - start !== LOG_PROOF.length) return false;
  for (let i = 0; i < LOG_PROOF.length; i++) if (bytes[start + i] !== LOG_PROOF[i]) return false;
  return true;
}

/**
 * The record's top-level `log_proof` string, found by a scan of the bytes
 * rather than a second parse (the verifier has parsed the record already):
 * strings are skipped whole, so that text inside them is never taken for
 * structure, and only a member of the outermost object counts, so that a
 * `log_proof` nested in the payload is not this record's. Read only for a
 * record `@erst/verify` has verified: it is well-formed JSON with no
 * duplicate member.
 */
function topLevelLogProof(bytes: Uint8Array): string | null {
  let depth = 0;
  let keyNext = false;
  for (let at = 0; at < bytes.length; at++) {
    const b = bytes[at]!;
    if (b === QUOTE) {
      const end = stringEnd(bytes, at);
      if (end < 0) return null;
      if (depth === 1 && keyNext && isLogProofKey(bytes, at, end)) {
        const colon = skipWhitespace(bytes, end + 1);
        const value = skipWhitespace(bytes, colon + 1);
        if (bytes[colon] !== COLON || bytes[value] !== QUOTE) return null;
        const valueEnd = stringEnd(bytes, value);
        if (valueEnd < 0) return null;
        return JSON.parse(decoder.decode(bytes.subarray(value, valueEnd + 1))) as string;
      }
      keyNext = false;
      at = end;
    } else if (OPEN.has(b)) {
      depth++;
      keyNext = depth === 1;
    } else if (CLOSE.has(b)) {
      depth--;
    } else if (b === COMMA && depth === 1) {
      keyNext = true;
    }
  }
  return null;
}

/**
 * The checkpoint note a record's `log_proof` ends with: everything after the
 * proof's first blank line (the tlog-proof format). Read only for a record
 * whose proof `@erst/verify` has already verified, so the text is well formed.
 */
function proofNote(bytes: Uint8Array): string | null {
  const proof = topLevelLogProof(bytes);
  if (proof === null) return null;
  const blank = proof.indexOf('\n\n');
  return blank < 0 ? null : proof.slice(blank + 2);
}

/**
 * Builds a chunk's `ChunkLog` in the worker, record by record, from the
 * verifier's results and the records' bytes (so that no result outlives its
 * record). A result the worker's Verifier verified names its checkpoint note
 * (`verifiedCheckpointNote`): no second look at the record's bytes. One that
 * does not (a result made elsewhere) has its note read from the bytes.
 */
export class ChunkLogBuilder {
  readonly log: ChunkLog = { trace: [], proof: [], note: [], notes: [] };
  readonly #ids = new Map<string, number>();

  add(r: VerifyResult, record: Uint8Array): void {
    const out = this.log;
    out.trace.push(r.trace_hash ?? '');
    const note = r.log?.verified ? (verifiedCheckpointNote(r.log) ?? proofNote(record)) : null;
    if (note === null) {
      out.proof.push(-1);
      out.note.push(-1);
      return;
    }
    let id = this.#ids.get(note);
    if (id === undefined) {
      id = out.notes.length;
      this.#ids.set(note, id);
      out.notes.push(note);
    }
    out.proof.push(r.log!.index);
    out.note.push(id);
  }
}

/** A chunk's `ChunkLog` from its results and records, in order (see ChunkLogBuilder). */
export function chunkLog(results: readonly VerifyResult[], records: readonly Uint8Array[]): ChunkLog {
  const builder = new ChunkLogBuilder();
  for (let i = 0; i < results.length; i++) builder.add(results[i]!, records[i]!);
  return builder.log;
}
