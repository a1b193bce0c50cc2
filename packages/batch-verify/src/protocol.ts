import type { TrustLevel, VerifyOptions } from '@erst/verify';

/** What every worker is started with (structured-cloned: text, bytes and dates only). */
export interface WorkerConfig {
  verify: VerifyOptions;
  /** Also hash each record's raw bytes (to detect changes against a state file). */
  contentHash: boolean;
  /**
   * The state keeps results (a signed state): also return each verified
   * record's outcome as the state stores it (`ChunkSummary.outcomes`).
   */
  outcomes?: boolean;
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
  /**
   * RFC 3161 timestamp: `verified` when a token (the record's, or its log
   * proof's checkpoint's) verified against a pinned TSA root, `unverified`
   * when a token was read but not verified, null when there is none.
   */
  timestamp: 'verified' | 'unverified' | null;
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

/** Records with a verified RFC 3161 timestamp and without (`unverified`: of those without, a token not verified). */
export interface TimestampCounts {
  timestamped: number;
  not_timestamped: number;
  unverified: number;
}

/**
 * A chunk's results, already counted by the worker: the main thread merges a
 * few small maps per chunk instead of cloning an object per record. With
 * `reused`, everything else covers only the records verified again, in
 * chunk order.
 */
export interface ChunkSummary {
  /** 1 for each valid record, in chunk order. */
  valid: Uint8Array;
  byFormat: Record<string, Counts>;
  byKey: Record<string, Counts & { label?: string }>;
  byDay: Record<string, Counts>;
  byTrust: Record<string, number>;
  warnings: Record<string, number>;
  /** Trusted timestamps by key and by day (the same keys as `byKey` and `byDay`). */
  timestamps: { byKey: Record<string, TimestampCounts>; byDay: Record<string, TimestampCounts> };
  failures: { index: number; format: string | null; key: string | null; errors: [string, string][] }[];
  /** With a state file only: each record's trace hash and content hash ('' when none). */
  traceHashes?: string[];
  contentHashes?: string[];
  /** With `WorkerConfig.outcomes`: each verified record's `StoredOutcome` as JSON text. */
  outcomes?: string[];
  /**
   * Set by the reading thread, never by a worker: 1 for each record whose
   * previous result stands (its bytes did not change). Those records never
   * went to a worker; everything else in the summary covers the others.
   */
  reused?: Uint8Array;
  /** With a log only. */
  log?: ChunkLog;
}

/**
 * A record's result as a signed state keeps it for the next run: the
 * `RecordOutcome` without the two hashes (the state line has them), plus,
 * in a run with a log, what the log check needs (`proof`, `note`, as in
 * `ChunkLog`).
 */
export type StoredOutcome = Omit<RecordOutcome, 'traceHash' | 'contentHash'> & { proof?: number; note?: string };

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
