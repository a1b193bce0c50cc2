import type { KeyObject } from 'node:crypto';
import type { HardwareAttestation, PublicKey, WritableSchema } from '@erst/core';

/** How a sink writes a record: `JSON.stringify(record)` or `JSON.stringify(record, null, 2)`, then a newline. */
export type RecordLayout = 'line' | 'indented';

/** What each signing thread is started with. */
export interface ThreadConfig {
  /**
   * The Ed25519 private key (a KeyObject is cloned to a thread without being
   * exported). None when records carry no signature of their own (a log's
   * checkpoint seals them): the threads then never sign, whatever the key is.
   */
  readonly key: KeyObject | undefined;
  /**
   * Or the signer's own way to sign on this thread (a token's: see
   * `ThreadSigning`): the module to import and this thread's data for its
   * `openThreadSigner`. Records then carry the signer's attestation.
   */
  readonly signing?: ThreadSignerRef | undefined;
  /** The signer's public key; its algorithm is the records' `algorithm`. */
  readonly publicKey: PublicKey;
  /** The signer's attestation, in every record (only without `key`: a software key has none). */
  readonly attestation: HardwareAttestation | undefined;
  readonly schema: WritableSchema;
  readonly recordSignature: boolean;
  readonly layout: RecordLayout;
  /** A line longer than this (the input limit) is reported by its size, never parsed. */
  readonly maxLineBytes: number;
}

/** One thread's part of a ThreadSigning (@erst/core). */
export interface ThreadSignerRef {
  readonly module: string;
  readonly data: unknown;
}

/**
 * A block of the input to a thread: whole lines back to back from the start
 * of `data` (which may be longer), `length` bytes, each line ended by a
 * newline except perhaps the input's last. The thread splits it, so the
 * main thread never touches a line. Or an output buffer handed back once
 * written, for the thread to fill again: fresh memory costs a page fault per
 * 4 KiB on first touch, more than the copy itself.
 */
export type LinesMessage =
  | { readonly id: number; readonly data: ArrayBuffer; readonly length: number }
  | { readonly recycle: ArrayBuffer };

/** What became of a line of a block (blank lines have no entry). */
export const SIGNED = 0;
/** Not a document with a transaction hash: `LinesResult.bad` says why. */
export const BAD = 1;
/** A document with a transaction hash, refused (its payload, its schema): `LinesResult.bad` says why. */
export const BAD_WITH_TX = 2;
/** Longer than the input limit (`LinesResult.bad` has its size); never parsed. */
export const TOO_LONG = 3;

/** Columns of `LinesResult.table`, per entry. */
export const COLUMNS = 4;
/** The entry's line, counted from the block's first line (0). */
export const REL_LINE = 0;
/** Where the line's bytes (without its newline, nor a CR before it) start and end in the block. */
export const IN_START = 1;
export const IN_END = 2;
/** Where the entry's output ends in `out` (it starts where the previous one ended; empty unless SIGNED). */
export const OUT_END = 3;

/** Why a line is not signed: its entry, its code and message, or for TOO_LONG its size. */
export interface BadEntry {
  readonly entry: number;
  readonly code: string;
  readonly message: string;
  readonly size?: number;
}

/** A block signed: per non-blank line an entry, and the signed lines' output bytes back to back. */
export interface BlockResult {
  /** Lines of the input the block held, blank ones included (the next block's first line follows). */
  readonly lines: number;
  /** Uint32 table of COLUMNS per entry (`REL_LINE` ...). */
  readonly table: Uint32Array;
  /** Per entry: SIGNED, BAD, BAD_WITH_TX or TOO_LONG. */
  readonly kinds: Uint8Array;
  /** The transaction hash (64 characters) of each SIGNED and BAD_WITH_TX entry, in entry order, back to back. */
  readonly txs: string;
  /**
   * The record's `trace_hash` (64 hex characters) of each SIGNED entry, in
   * entry order, back to back: a log stage appends it without parsing the
   * record again.
   */
  readonly traceHashes: string;
  readonly bad: readonly BadEntry[];
  /** The output lines from its start (it may be longer): hand it back (`recycle`) once written. */
  readonly out: ArrayBuffer;
  /** The block's `data`, handed back (read again only to resume, then refilled). */
  readonly data: ArrayBuffer;
}

/** A thread's answer to a block: its result, or the failure that stops the batch (the signer's). */
export type LinesResult =
  | ({ readonly id: number } & BlockResult)
  | { readonly id: number; readonly fatal: { readonly code: string; readonly message: string } };
