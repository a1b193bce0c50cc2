import type { TrustLevel, VerifyOptions } from '@erst/verify';

/** What every worker is started with (structured-cloned: text, bytes and dates only). */
export interface WorkerConfig {
  verify: VerifyOptions;
  /** Also hash each record's raw bytes (to detect changes against a state file). */
  contentHash: boolean;
  /** The run checks a verifiable log: also report what each record says about its place in a log (`ChunkLog`). */
  log?: boolean;
}

/** A chunk of records packed into one transferable buffer; record i ends at ends[i]. */
export interface ChunkMessage {
  id: number;
  buffer: ArrayBuffer;
  ends: Uint32Array;
}

/** The verdict on one record, cut down to what the report needs. */
export interface RecordOutcome {
  valid: boolean;
  format: string | null;
  /** `algorithm:hex` of the signing key, when the record could be parsed. */
  key: string | null;
  label: string | null;
  trust: TrustLevel;
  /** UTC day (YYYY-MM-DD) of the record's timestamp. */
  day: string | null;
  traceHash: string | null;
  contentHash: string | null;
  /** [code, message] of each error; empty when valid. */
  errors: [string, string][];
  warnings: string[];
}

export interface Counts {
  valid: number;
  invalid: number;
}

/**
 * A chunk's results, already counted by the worker: the main thread merges a
 * few small maps per chunk instead of cloning an object per record.
 */
export interface ChunkSummary {
  /** 1 for each valid record, in chunk order. */
  valid: Uint8Array;
  byFormat: Record<string, Counts>;
  byKey: Record<string, Counts & { label?: string }>;
  byDay: Record<string, Counts>;
  byTrust: Record<string, number>;
  warnings: Record<string, number>;
  failures: { index: number; format: string | null; key: string | null; errors: [string, string][] }[];
  /** With a state file only: each record's trace hash and content hash ('' when none). */
  traceHashes?: string[];
  contentHashes?: string[];
  /** With a log only. */
  log?: ChunkLog;
}

/**
 * What a worker tells the main thread about a chunk's records when a run
 * checks a log: each record's trace_hash, and for a record whose log proof
 * verified, the index it names and which of the chunk's distinct checkpoint
 * notes it leads to. A batch shares one checkpoint, so a chunk carries one
 * note, not one per record.
 */
export interface ChunkLog {
  /** Each record's trace_hash (hex), '' when it has none. */
  trace: string[];
  /** The index the record's verified proof names, or -1. */
  proof: number[];
  /** Index into `notes` of the proof's checkpoint, or -1. */
  note: number[];
  notes: string[];
}

/** The chunk's buffer comes back with the summary, so that the reader can fill it again. */
export type ResultMessage = { id: number; summary: ChunkSummary; buffer: ArrayBuffer } | { id: number; fatal: string };
