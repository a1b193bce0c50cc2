import { type Report, ReportBuilder, trustSummary } from '@erst/batch-verify/report';
import { DEFAULT_MAX_INPUT_BYTES } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import { type PageInput, totalBytes } from './inputs.js';
import type { ReaderInit, ReaderMessage, StopKeeping, VerifierInit, VerifierResult } from './protocol.js';

/** The workers' bundled sources, inlined by build.mjs. */
declare const VERIFIER_SOURCE: string;
declare const READER_SOURCE: string;

/** Failed records whose bytes are kept for the detail view; past these, a record is read again to be shown. */
const KEEP_RECORDS = 2_000;
const KEEP_BYTES = 64 * 1024 * 1024;
/** Records listed for the detail view (source, input, verdict); past this, a record is found by its source. */
const INDEX_RECORDS = 1_000_000;

export interface Progress {
  records: number;
  bytesRead: number;
  bytesTotal: number;
}

export interface RunOptions {
  verify: VerifyOptions;
  workers: number;
  signal: AbortSignal;
  onProgress: (p: Progress) => void;
}

/** Every record verified, for the record list: source, input index and verdict (up to INDEX_RECORDS of them). */
export interface RecordIndex {
  sources: string[];
  inputs: number[];
  valid: boolean[];
  /** Records verified past INDEX_RECORDS, not listed. */
  unlisted: number;
}

export interface RunResult {
  report: Report;
  /** The bytes of failed records, by source, for the detail view (the first KEEP_RECORDS of them). */
  kept: Map<string, Uint8Array>;
  records: RecordIndex;
}

const urls = new Map<string, string>();

/**
 * A worker started from a Blob URL of its inlined source: a file:// page may
 * not start a worker from a file, and a Blob URL fetches nothing. One URL
 * per source, for the life of the page (every run starts its workers anew).
 */
function startWorker(source: string): Worker {
  let url = urls.get(source);
  if (!url) {
    url = URL.createObjectURL(new Blob([source], { type: 'text/javascript' }));
    urls.set(source, url);
  }
  return new Worker(url);
}

/**
 * Verifies every record of every input and builds erst-batch's report
 * (@erst/batch-verify's ReportBuilder) from the same counts its worker
 * threads send. One worker reads (inflating, walking tar members, splitting
 * lines) and hands chunks of record bytes straight to `workers` verifiers;
 * this thread only adds their counts up, so it stays free for the person
 * using the page. The reader waits for the verifiers, so memory stays flat.
 * Rejects with an AbortError when `signal` aborts: every worker stops at once.
 */
export function verifyInputs(inputs: readonly PageInput[], options: RunOptions): Promise<RunResult> {
  const builder = new ReportBuilder(
    inputs.map((i) => i.name),
    null,
    trustSummary(options.verify),
  );
  const bytesTotal = totalBytes(inputs);
  const kept = new Map<string, Uint8Array>();
  const records: RecordIndex = { sources: [], inputs: [], valid: [], unlisted: 0 };
  let keptBytes = 0;
  let keeping = true;
  let verified = 0;
  let bytesRead = 0;
  let chunksSent: number | undefined;
  let chunksDone = 0;
  const progress = () => options.onProgress({ records: builder.totals.records, bytesRead, bytesTotal });

  const reader = startWorker(READER_SOURCE);
  const verifiers = Array.from({ length: Math.max(1, options.workers) }, () => startWorker(VERIFIER_SOURCE));
  const workers = [reader, ...verifiers];

  return new Promise<RunResult>((resolve, reject) => {
    let settled = false;
    const finish = (error?: unknown) => {
      if (settled) return;
      settled = true;
      for (const w of workers) w.terminate();
      options.signal.removeEventListener('abort', onAbort);
      if (error !== undefined) return reject(error);
      progress();
      resolve({ report: builder.build(), kept, records });
    };
    const onAbort = () => finish(options.signal.reason);
    options.signal.addEventListener('abort', onAbort, { once: true });
    const maybeDone = () => {
      if (chunksSent !== undefined && chunksDone === chunksSent) finish();
    };

    const onResult = (msg: VerifierResult) => {
      if ('fatal' in msg) return finish(new Error(`a verifier worker failed: ${msg.fatal}`));
      builder.addChunk(msg.sources, msg.inputs, msg.summary);
      for (let i = 0; i < msg.sources.length && records.sources.length < INDEX_RECORDS; i++) {
        records.sources.push(msg.sources[i]!);
        records.inputs.push(msg.inputs[i]!);
        records.valid.push(msg.summary.valid[i] === 1);
      }
      // Records read but not verified (a member cut short, one over the size limit) are failures, not unlisted.
      verified += msg.sources.length;
      records.unlisted = verified - records.sources.length;
      msg.summary.failures.forEach((f, i) => {
        const bytes = msg.kept[i];
        if (!bytes || !keeping) return;
        if (kept.size >= KEEP_RECORDS || keptBytes + bytes.byteLength > KEEP_BYTES) {
          // Full: the verifiers stop copying failed records (the detail view reads the others again).
          keeping = false;
          for (const v of verifiers) v.postMessage({ keep: false } satisfies StopKeeping);
          return;
        }
        kept.set(msg.sources[f.index]!, new Uint8Array(bytes));
        keptBytes += bytes.byteLength;
      });
      chunksDone++;
      progress();
      maybeDone();
    };

    const onReader = (msg: ReaderMessage) => {
      if ('fatal' in msg) return finish(new Error(`the reader worker failed: ${msg.fatal}`));
      if ('progress' in msg) {
        bytesRead = msg.progress;
        progress();
      } else if ('failure' in msg) {
        const f = msg.failure;
        builder.unreadable(f.source, f.input, f.code, f.message, f.scope);
      } else {
        chunksSent = msg.done;
        maybeDone();
      }
    };

    const onError = (e: ErrorEvent) => {
      e.preventDefault();
      finish(new Error(e.message || 'a worker failed to start'));
    };
    reader.onmessage = (e: MessageEvent<ReaderMessage>) => onReader(e.data);
    reader.onerror = onError;
    const ports: MessagePort[] = [];
    for (const v of verifiers) {
      const channel = new MessageChannel();
      v.onmessage = (e: MessageEvent<VerifierResult>) => onResult(e.data);
      v.onerror = onError;
      v.postMessage({ verify: options.verify, port: channel.port1 } satisfies VerifierInit, [channel.port1]);
      ports.push(channel.port2);
    }
    reader.postMessage({ inputs: [...inputs], ports, maxBytes: DEFAULT_MAX_INPUT_BYTES } satisfies ReaderInit, ports);
  });
}
