import type { Item } from '@erst/archive';
import type { ChunkSummary } from '@erst/batch-verify/report';
import type { VerifyOptions } from '@erst/verify';
import type { PageInput } from './inputs.js';

/*
 * Three kinds of thread: the page, one reader, and one verifier per core.
 * The reader streams the inputs and hands chunks of record bytes straight to
 * the verifiers over MessagePorts (transferred, never copied); each verifier
 * sends its counts to the page and the buffer back to the reader, which
 * fills it again. The page only adds counts to the report.
 */

/** The page to a verifier, first: the trust material (structured-cloned) and its port to the reader. */
export interface VerifierInit {
  verify: VerifyOptions;
  port: MessagePort;
}

/** The page to every verifier, once the page holds as many failed records' bytes as it keeps. */
export interface StopKeeping {
  keep: false;
}

/** The page to the reader: what to read, and one port per verifier. */
export interface ReaderInit {
  inputs: PageInput[];
  ports: MessagePort[];
  maxBytes: number;
}

/** The reader to a verifier: records packed into one transferable buffer; record i ends at ends[i]. */
export interface ChunkMessage {
  id: number;
  buffer: ArrayBuffer;
  ends: Uint32Array;
  sources: string[];
  inputs: number[];
}

/** A verifier to the reader: the buffer of a chunk it has verified, to be filled again. */
export interface BufferReturn {
  buffer: ArrayBuffer;
}

/** A verifier to the page: a chunk's counts, and copies of its failed records' bytes while the page keeps them. */
export type VerifierResult =
  | {
      id: number;
      sources: string[];
      inputs: number[];
      summary: ChunkSummary;
      /** Per failure of `summary.failures`, in order: the record's bytes (absent once the page stopped keeping). */
      kept: ArrayBuffer[];
    }
  | { fatal: string };

/** The reader to the page. */
export type ReaderMessage =
  /** Bytes of the inputs read so far (compressed bytes for a .tar.gz): what the progress bar and ETA run on. */
  | { progress: number }
  /** What could not be read, as erst-batch reports it. */
  | { failure: Extract<Item, { kind: 'failure' }> }
  /** Every input is read: `chunks` chunks were sent in all. */
  | { done: number }
  | { fatal: string };
