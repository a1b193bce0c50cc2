import type { JsonObject } from '@erst/core';
import type { Verifier } from '@erst/verify';
import type { RecordLayout } from './thread-protocol.js';

export type { RecordLayout };

/** One record of the batch on its way to the output: the input line it came from, and the record as written. */
export interface BatchRecord {
  /** 1-based line of the input. */
  readonly line: number;
  readonly transactionHash: string;
  /** The record to write: an object that `JSON.stringify` writes as the record. */
  readonly record: JsonObject;
  /**
   * The record already serialized as `RecordSink.recordLayout` says (a
   * signing thread made it): a sink writes these bytes as they are.
   */
  readonly encoded?: Uint8Array;
  /**
   * With `encoded`: the record's `trace_hash`, from the thread that made
   * both, so that a log stage appends it without parsing the record.
   */
  readonly traceHash?: string | undefined;
}

/** What an earlier run left in the output for one transaction. */
export type Previous =
  /** Nothing: sign it. */
  | { readonly state: 'absent' }
  /** A record that verifies as this transaction's under the signing key: skip it. */
  | { readonly state: 'done' }
  /** Something that must not be replaced or counted as signed: the line is reported with this and not signed. */
  | { readonly state: 'conflict'; readonly code: string; readonly message: string };

/** What a sink needs to read back what an earlier run wrote. */
export interface ResumeContext {
  /**
   * Verifies records under the key that signs now: only what verifies counts
   * as already signed. It may be made when first asked for (some
   * milliseconds): ask only when the output holds something to read back.
   */
  readonly verifier: Verifier;
  /** Records to verify at once while reading back. */
  readonly concurrency: number;
}

/**
 * Where signed records go: a directory of files, or one `.jsonl`, behind one
 * interface. The pipeline calls `open` once, `previous` for each input line,
 * `write` then `commit` for each group of records (never two groups at once),
 * and `close` once at the end, after a failure too.
 */
export interface RecordSink {
  /** How messages name the output: its path. */
  readonly target: string;
  /**
   * Prepares the output and reads back what an earlier run wrote: refuses
   * (throws) an output that is not this batch's, repairs what a killed run
   * left half-written.
   */
  open(context: ResumeContext): Promise<void>;
  /**
   * How `write` serializes a record: signing threads (`signBatch`'s
   * `threads`) then hand it `BatchRecord.encoded` in that layout. Without it,
   * records are made compact (`line`) and `write` may serialize `record` itself.
   */
  readonly recordLayout?: RecordLayout;
  /**
   * False when the output surely holds nothing of this transaction (as
   * `previous` would say `absent`): a cheap check that spares reading the
   * line's payload. Without it, `previous` is always asked.
   */
  holds?(transactionHash: string): boolean;
  /** What an earlier run left for this transaction (the payload tells 1.x records apart, which do not sign their hash). */
  previous(transactionHash: string, payload: JsonObject): Promise<Previous>;
  /** Writes a group of records. */
  write(group: readonly BatchRecord[]): Promise<void>;
  /**
   * Ends a group: once it resolves, a crash does not lose the group's records
   * (a `.jsonl` fsyncs here; a directory's files are each fsynced before they
   * appear, and their renames are made durable by `close`).
   */
  commit(): Promise<void>;
  /** Makes everything written durable and releases the output. */
  close(): Promise<void>;
}
