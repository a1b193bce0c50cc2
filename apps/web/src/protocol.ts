import type { ChunkSummary } from '@erst/batch-verify/report';
import type { VerifyOptions } from '@erst/verify';

/** The first message a verifier worker gets: the trust material (text, bytes and dates: it is structured-cloned). */
export interface InitMessage {
  verify: VerifyOptions;
}

/** A chunk of records packed into one transferable buffer; record i ends at ends[i]. */
export interface ChunkMessage {
  id: number;
  buffer: ArrayBuffer;
  ends: Uint32Array;
}

/** The chunk's buffer comes back with its counts, so that the page can keep the bytes of failed records. */
export type ResultMessage = { id: number; summary: ChunkSummary; buffer: ArrayBuffer } | { id: number; fatal: string };
