import { Worker } from 'node:worker_threads';
import { ChunkVerifier } from './chunk-verifier.js';
import type { ChunkMessage, ChunkSummary, ResultMessage, WorkerConfig } from './protocol.js';

/** Chunks queued per worker: enough to keep it busy, few enough to bound memory. */
const IN_FLIGHT_PER_WORKER = 3;
const YOUNG_GENERATION_MB = 16;

/** The verifier threads' code: beside this module, built or bundled. */
export const WORKER_URL = new URL('./worker.js', import.meta.url);

/** Called with each chunk's summary, and its buffer back (to be filled again). */
export type OnResult = (id: number, summary: ChunkSummary, buffer: ArrayBuffer) => void;

/** Where chunks are verified: verifier threads (WorkerPool) or the calling thread (InlinePool). */
export interface ChunkPool {
  /** Hands a chunk over (its buffer may be transferred), waiting while the pool is full. */
  submit(chunk: ChunkMessage): Promise<void>;
  /** Resolves once every submitted chunk has been reported. */
  drain(): Promise<void>;
  close(): Promise<void>;
}

interface Slot {
  worker: Worker;
  inFlight: number;
}

/**
 * A fixed set of verifier threads. `submit` waits while every worker already
 * has its share of chunks: that wait is the backpressure that keeps the
 * readers (and so memory) in step with verification.
 */
export class WorkerPool implements ChunkPool {
  readonly #slots: Slot[] = [];
  readonly #onResult: OnResult;
  #waiters: (() => void)[] = [];
  #idle: (() => void)[] = [];
  #pending = 0;
  #failure: Error | undefined;
  #closing = false;

  constructor(size: number, config: WorkerConfig, onResult: OnResult) {
    this.#onResult = onResult;
    const url = WORKER_URL;
    for (let i = 0; i < size; i++) {
      // A small, fixed young generation: records die young (one is parsed at a
      // time), and V8 would otherwise grow it late in a long run, so that peak
      // memory crept up with archive size.
      const worker = new Worker(url, {
        workerData: config,
        resourceLimits: { maxYoungGenerationSizeMb: YOUNG_GENERATION_MB },
      });
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (msg: ResultMessage) => this.#handle(slot, msg));
      worker.on('error', (e) => this.#fail(e));
      worker.on('exit', (code) => {
        if (!this.#closing) this.#fail(new Error(`a verifier thread exited unexpectedly (code ${code})`));
      });
      this.#slots.push(slot);
    }
  }

  #handle(slot: Slot, msg: ResultMessage): void {
    slot.inFlight--;
    this.#pending--;
    if ('fatal' in msg) {
      this.#fail(new Error(msg.fatal));
      return;
    }
    try {
      this.#onResult(msg.id, msg.summary, msg.buffer);
    } catch (e) {
      this.#fail(e as Error);
      return;
    }
    this.#wake();
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#wake();
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
    if (this.#pending === 0 || this.#failure) {
      const idle = this.#idle;
      this.#idle = [];
      for (const w of idle) w();
    }
  }

  #check(): void {
    if (this.#failure) {
      throw new Error(`a verifier thread failed: ${this.#failure.message}`, { cause: this.#failure });
    }
  }

  /** Sends a chunk to the least busy worker, waiting while all are full. The buffer is transferred. */
  async submit(chunk: ChunkMessage): Promise<void> {
    for (;;) {
      this.#check();
      let best: Slot | undefined;
      for (const s of this.#slots)
        if (s.inFlight < IN_FLIGHT_PER_WORKER && (!best || s.inFlight < best.inFlight)) best = s;
      if (best) {
        best.inFlight++;
        this.#pending++;
        best.worker.postMessage(chunk, [chunk.buffer]);
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }

  /** Resolves once every submitted chunk has been reported. */
  async drain(): Promise<void> {
    while (this.#pending > 0 && !this.#failure) await new Promise<void>((resolve) => this.#idle.push(resolve));
    this.#check();
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }
}

/**
 * Verifies each chunk on the calling thread, as it is submitted, with the
 * same `ChunkVerifier` a verifier thread runs, so that the summaries are the
 * same. For a run of one chunk: starting a thread (a V8 isolate, Node's
 * bootstrap, the verifier's code loaded again) costs more than the chunk.
 */
export class InlinePool implements ChunkPool {
  readonly #verifier: ChunkVerifier;
  readonly #onResult: OnResult;

  constructor(config: WorkerConfig, onResult: OnResult) {
    this.#verifier = new ChunkVerifier(config);
    this.#onResult = onResult;
  }

  async submit(chunk: ChunkMessage): Promise<void> {
    this.#onResult(chunk.id, await this.#verifier.verify(chunk), chunk.buffer);
  }

  async drain(): Promise<void> {}

  async close(): Promise<void> {}
}

/**
 * Starts nothing until the first chunk: a run whose first chunk is also its
 * last (everything read fits in one chunk: `one.json`, a few files) is
 * verified on the calling thread; any other run starts `size` verifier
 * threads. Why: most of a small run's time was starting threads. A run that
 * knows it is large (`prestart`) starts them at once instead, so that they
 * boot while its first chunk is read.
 */
export class LazyPool {
  readonly #size: number;
  readonly #config: WorkerConfig;
  readonly #onResult: OnResult;
  #pool: ChunkPool | undefined;
  #onFirstChunk: (() => void) | undefined;

  /** `onFirstChunk`: called once, when the first chunk is handed over. */
  constructor(size: number, config: WorkerConfig, onResult: OnResult, onFirstChunk?: () => void) {
    this.#size = size;
    this.#config = config;
    this.#onResult = onResult;
    this.#onFirstChunk = onFirstChunk;
  }

  /** Starts the verifier threads now (a run that will have more than one chunk). */
  prestart(): void {
    this.#pool ??= new WorkerPool(this.#size, this.#config, this.#onResult);
  }

  /** Whether the chunks went to verifier threads (false before the first chunk, and for a run verified inline). */
  get threaded(): boolean {
    return this.#pool instanceof WorkerPool;
  }

  /** `last`: reading is over, so this chunk is the run's last. */
  submit(chunk: ChunkMessage, last: boolean): Promise<void> {
    this.#pool ??= last
      ? new InlinePool(this.#config, this.#onResult)
      : new WorkerPool(this.#size, this.#config, this.#onResult);
    const submitted = this.#pool.submit(chunk);
    const first = this.#onFirstChunk;
    this.#onFirstChunk = undefined;
    first?.();
    return submitted;
  }

  drain(): Promise<void> {
    return this.#pool?.drain() ?? Promise.resolve();
  }

  close(): Promise<void> {
    return this.#pool?.close() ?? Promise.resolve();
  }
}
