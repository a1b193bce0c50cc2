import { Worker } from 'node:worker_threads';
import type { ChunkMessage, ChunkSummary, ResultMessage, WorkerConfig } from './protocol.js';

/** Chunks queued per worker: enough to keep it busy, few enough to bound memory. */
const IN_FLIGHT_PER_WORKER = 3;
const YOUNG_GENERATION_MB = 16;

/** The verifier threads' code: beside this module, built or bundled. */
export const WORKER_URL = new URL('./worker.js', import.meta.url);

interface Slot {
  worker: Worker;
  inFlight: number;
}

/**
 * A fixed set of verifier threads. `submit` waits while every worker already
 * has its share of chunks: that wait is the backpressure that keeps the
 * readers (and so memory) in step with verification.
 */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  readonly #onResult: (id: number, summary: ChunkSummary, buffer: ArrayBuffer) => void;
  #waiters: (() => void)[] = [];
  #idle: (() => void)[] = [];
  #pending = 0;
  #failure: Error | undefined;
  #closing = false;

  constructor(
    size: number,
    config: WorkerConfig,
    onResult: (id: number, summary: ChunkSummary, buffer: ArrayBuffer) => void,
  ) {
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
