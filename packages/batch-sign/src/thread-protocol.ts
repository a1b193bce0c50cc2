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
  /** The signer's public key; its algorithm is the records' `algorithm`. */
  readonly publicKey: PublicKey;
  /** The signer's attestation, in every record (only without `key`: a software key has none). */
  readonly attestation: HardwareAttestation | undefined;
  readonly schema: WritableSchema;
  readonly recordSignature: boolean;
  readonly layout: RecordLayout;
}

/**
 * Input lines to a thread: their bytes back to back (from the start of
 * `data`, which may be longer), and where each ends. Or an output buffer
 * handed back once written, for the thread to fill again: fresh memory
 * costs a page fault per 4 KiB on first touch, more than the copy itself.
 */
export type LinesMessage =
  | {
      readonly id: number;
      readonly data: ArrayBuffer;
      /** Uint32 end offsets into `data`, one per line. */
      readonly ends: ArrayBuffer;
    }
  | { readonly recycle: ArrayBuffer };

/** One line's fate: signed (its transaction), or bad (with its transaction when the line said one). */
export interface LineOutcome {
  readonly transactionHash?: string | undefined;
  /** A signed line's record's `trace_hash` (2.x), which a log stage appends without parsing the record again. */
  readonly traceHash?: string | undefined;
  readonly bad?: { readonly code: string; readonly message: string };
}

/** A thread's answer: per line an outcome, and the signed lines' output bytes back to back. */
export type LinesResult =
  | {
      readonly id: number;
      readonly outcomes: readonly LineOutcome[];
      /** The output lines from its start (it may be longer): hand it back (`recycle`) once written. */
      readonly out: ArrayBuffer;
      /** Uint32 end offsets into `out`, one per line (a bad line's is empty). */
      readonly outEnds: ArrayBuffer;
      /** The message's `data`, handed back. */
      readonly data: ArrayBuffer;
    }
  | { readonly id: number; readonly fatal: { readonly code: string; readonly message: string } };
