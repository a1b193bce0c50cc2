import type { ChunkSummary } from '@erst/batch-verify/report';
import type { VerifyOptions } from '@erst/verify';
import type { ChunkMessage, InitMessage, ResultMessage } from './protocol.js';

/** The verifier worker's bundled source, inlined by build.mjs. */
declare const WORKER_SOURCE: string;

/** Chunks queued per worker: enough to keep it busy, few enough to bound memory (as in erst-batch). */
const IN_FLIGHT_PER_WORKER = 3;

interface Slot {
  worker: Worker;
  inFlight: number;
}

export type ResultHandler = (id: number, summary: ChunkSummary, buffer: ArrayBuffer) => void;

/**
 * A fixed set of Web Workers, one per core. `submit` waits while every worker
 * has its share of chunks: the reading loop waits with it, so memory stays
 * flat whatever the archive's size, and the page's own thread is free
 * between chunks. Workers start from a Blob URL of the inlined worker source:
 * that works from file:// and from any server, and fetches nothing.
 */
export class WorkerPool {
  readonly #slots: Slot[] = [];
  readonly #url: string;
  readonly #onResult: ResultHandler;
  #waiters: (() => void)[] = [];
  #pending = 0;
  #failure: Error | undefined;

  constructor(size: number, verify: VerifyOptions, onResult: ResultHandler) {
    this.#onResult = onResult;
    this.#url = URL.createObjectURL(new Blob([WORKER_SOURCE], { type: 'text/javascript' }));
    for (let i = 0; i < size; i++) {
      const worker = new Worker(this.#url);
      const slot: Slot = { worker, inFlight: 0 };
      worker.onmessage = (e: MessageEvent<ResultMessage>) => this.#handle(slot, e.data);
      worker.onerror = (e) => {
        e.preventDefault();
        this.#fail(new Error(e.message || 'a verifier worker failed to start'));
      };
      worker.postMessage({ verify } satisfies InitMessage);
      this.#slots.push(slot);
    }
  }

  #handle(slot: Slot, msg: ResultMessage): void {
    slot.inFlight--;
    this.#pending--;
    if ('fatal' in msg) this.#fail(new Error(msg.fatal));
    else {
      try {
        this.#onResult(msg.id, msg.summary, msg.buffer);
      } catch (e) {
        this.#fail(e as Error);
      }
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
  }

  #check(): void {
    if (this.#failure) throw new Error(`a verifier worker failed: ${this.#failure.message}`, { cause: this.#failure });
  }

  /** Sends a chunk to the least busy worker (its buffer is transferred), waiting while all are full. */
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

  /** Resolves once every submitted chunk has come back. */
  async drain(): Promise<void> {
    while (this.#pending > 0 && !this.#failure) await new Promise<void>((resolve) => this.#waiters.push(resolve));
    this.#check();
  }

  /** Stops every worker at once (Cancel, or the end of a run), and wakes whoever waits. */
  close(): void {
    for (const s of this.#slots) s.worker.terminate();
    URL.revokeObjectURL(this.#url);
    this.#fail(new Error('stopped'));
  }
}
