import type { TrustLevel, VerifyOptions } from '@erst/verify';

/** What every worker is started with (structured-cloned: text, bytes and dates only). */
export interface WorkerConfig {
  verify: VerifyOptions;
  /** Also hash each record's raw bytes (for --state change detection). */
  contentHash: boolean;
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

export type ResultMessage = { id: number; outcomes: RecordOutcome[] } | { id: number; fatal: string };
