import { type ChunkSummary, type Report, ReportBuilder, trustSummary } from '@erst/batch-verify/report';
import { DEFAULT_MAX_INPUT_BYTES } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import { type ByteCounter, type PageInput, readInput, totalBytes } from './inputs.js';
import { WorkerPool } from './pool.js';

/** Records per chunk sent to a worker, and the size of a chunk's buffer (as in erst-batch). */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;
/** Failed records whose bytes are kept for the detail view; past these, only the report's line is. */
const KEEP_RECORDS = 2_000;
const KEEP_BYTES = 64 * 1024 * 1024;
/** The longest the reading loop holds the page's thread before letting input events through. */
const SLICE_MS = 8;

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

export interface RunResult {
  report: Report;
  /** The bytes of failed records, by source, for the detail view (the first KEEP_RECORDS of them). */
  kept: Map<string, Uint8Array>;
}

/** Lets the browser run input events and paint: a message to ourselves is a task without setTimeout's clamping. */
function yieldToPage(): Promise<void> {
  return new Promise((resolve) => {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => {
      ch.port1.close();
      resolve();
    };
    ch.port2.postMessage(null);
  });
}

/** A chunk on its way to a worker: whose records it holds, and where each ends in its buffer. */
interface Chunk {
  sources: string[];
  inputs: number[];
  ends: number[];
}

/**
 * Packs records into transferable chunk buffers (a fixed set of them carries
 * the whole archive: they come back with the results), hands each full
 * chunk to the pool, and adds each result to the report, keeping the bytes
 * of failed records for the detail view.
 */
class Chunks {
  readonly #pool: WorkerPool;
  readonly #builder: ReportBuilder;
  readonly #sent = new Map<number, Chunk>();
  readonly #spare: ArrayBuffer[] = [];
  readonly kept = new Map<string, Uint8Array>();
  #keptBytes = 0;
  #nextId = 0;
  #buffer: ArrayBuffer | undefined;
  #view = new Uint8Array(0);
  #used = 0;
  #chunk: Chunk = { sources: [], inputs: [], ends: [] };

  constructor(workers: number, verify: VerifyOptions, builder: ReportBuilder, onResult: () => void) {
    this.#builder = builder;
    this.#pool = new WorkerPool(workers, verify, (id, summary, buffer) => {
      this.#verified(id, summary, buffer);
      onResult();
    });
  }

  /** Copies a record into the chunk being filled (the reader may reuse its bytes afterwards). */
  async add(source: string, input: number, bytes: Uint8Array): Promise<void> {
    if (this.#buffer && this.#used + bytes.length > this.#buffer.byteLength) await this.flush();
    if (!this.#buffer) {
      // A record larger than a chunk travels alone, in a buffer of its own.
      this.#buffer =
        bytes.length > CHUNK_BYTES
          ? new ArrayBuffer(bytes.length)
          : (this.#spare.pop() ?? new ArrayBuffer(CHUNK_BYTES));
      this.#view = new Uint8Array(this.#buffer);
    }
    this.#view.set(bytes, this.#used);
    this.#used += bytes.length;
    this.#chunk.ends.push(this.#used);
    this.#chunk.sources.push(source);
    this.#chunk.inputs.push(input);
    if (this.#chunk.ends.length >= CHUNK_RECORDS) await this.flush();
  }

  /** Sends the chunk being filled, waiting while every worker has its share. */
  async flush(): Promise<void> {
    if (this.#chunk.ends.length === 0 || !this.#buffer) return;
    const id = this.#nextId++;
    const message = { id, buffer: this.#buffer, ends: Uint32Array.from(this.#chunk.ends) };
    this.#sent.set(id, this.#chunk);
    this.#buffer = undefined;
    this.#chunk = { sources: [], inputs: [], ends: [] };
    this.#used = 0;
    await this.#pool.submit(message);
  }

  /** Resolves once every chunk sent has been counted. */
  drain(): Promise<void> {
    return this.#pool.drain();
  }

  close(): void {
    this.#pool.close();
  }

  #verified(id: number, summary: ChunkSummary, buffer: ArrayBuffer): void {
    const chunk = this.#sent.get(id)!;
    this.#sent.delete(id);
    this.#builder.addChunk(chunk.sources, chunk.inputs, summary);
    for (const f of summary.failures) {
      const start = f.index === 0 ? 0 : chunk.ends[f.index - 1]!;
      const end = chunk.ends[f.index]!;
      if (this.kept.size >= KEEP_RECORDS || this.#keptBytes + end - start > KEEP_BYTES) break;
      this.kept.set(chunk.sources[f.index]!, new Uint8Array(buffer.slice(start, end)));
      this.#keptBytes += end - start;
    }
    if (buffer.byteLength === CHUNK_BYTES) this.#spare.push(buffer);
  }
}

/**
 * Verifies every record of every input in `workers` Web Workers and builds
 * erst-batch's report (@erst/batch-verify's ReportBuilder) from the same
 * counts its worker threads send. Reading is a stream that waits for the
 * workers, so memory stays flat, and that yields to the page every few
 * milliseconds, so the page stays responsive. Throws an AbortError when
 * `signal` aborts.
 */
export async function verifyInputs(inputs: readonly PageInput[], options: RunOptions): Promise<RunResult> {
  const builder = new ReportBuilder(
    inputs.map((i) => i.name),
    null,
    trustSummary(options.verify),
  );
  const counter: ByteCounter = { read: 0 };
  const bytesTotal = totalBytes(inputs);
  const progress = () => options.onProgress({ records: builder.totals.records, bytesRead: counter.read, bytesTotal });
  const chunks = new Chunks(options.workers, options.verify, builder, progress);
  options.signal.addEventListener('abort', () => chunks.close(), { once: true });
  try {
    let slice = performance.now();
    for (let i = 0; i < inputs.length; i++) {
      let reported = false;
      for await (const item of readInput(inputs[i]!, i, DEFAULT_MAX_INPUT_BYTES, counter)) {
        options.signal.throwIfAborted();
        reported = true;
        if (item.kind === 'failure') builder.unreadable(item.source, i, item.code, item.message, item.scope);
        else await chunks.add(item.source, i, item.bytes);
        if (performance.now() - slice > SLICE_MS) {
          await yieldToPage();
          slice = performance.now();
        }
      }
      // An empty folder or archive must not pass as "nothing failed" (erst-batch's ERR_ARCHIVE_EMPTY).
      if (!reported) builder.unreadable(inputs[i]!.name, i, 'ERR_ARCHIVE_EMPTY', 'holds no record', 'unreadable');
    }
    await chunks.flush();
    await chunks.drain();
  } catch (e) {
    options.signal.throwIfAborted();
    throw e;
  } finally {
    chunks.close();
  }
  progress();
  return { report: builder.build(), kept: chunks.kept };
}
