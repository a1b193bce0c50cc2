import { Worker } from 'node:worker_threads';
import { ErstError, isErstError } from '@erst/core';
import type { LineOutcome, LinesMessage, LinesResult, ThreadConfig } from './thread-protocol.js';

/** The signing threads' code: beside this module, built or bundled (apps name it as an entry of their bundle). */
export const SIGN_WORKER_URL = new URL('./sign-worker.js', import.meta.url);

/**
 * Lines per message, and bytes: enough lines to share a message's cost
 * (some tens of microseconds each way), few enough that every thread gets
 * work early and that records in flight stay bounded.
 */
export const LINES_PER_MESSAGE = 64;
export const BYTES_PER_MESSAGE = 1 << 20;
/**
 * Messages per thread not yet written: one being signed, more waiting, and
 * those whose group is being written and fsynced, so that a thread never
 * idles while the main thread writes.
 */
const IN_FLIGHT_PER_THREAD = 4;

/** One line a thread signed or refused: its input bytes, and its output bytes when signed. */
export interface SignedLine {
  readonly line: number;
  readonly outcome: LineOutcome;
  /** The input line (read again only to resume). */
  readonly input: Uint8Array;
  readonly encoded: Uint8Array | undefined;
}

interface Pending {
  readonly slot: Slot;
  readonly lines: readonly number[];
  /** Where each input line ends in the message's data. */
  readonly ends: Uint32Array;
}

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

/**
 * A fixed set of signing threads. `submit` sends lines to the least busy
 * thread, waiting while every thread holds its share; results are handed
 * to `onLines` in the order the lines were submitted, one message at a time.
 * The caller frees a message's place by calling `written` once its records
 * are written (its buffers are then reused), so that reading stays in step
 * with writing, not only with signing.
 */
export class LineThreads {
  readonly #slots: Slot[] = [];
  readonly #pending = new Map<number, Pending>();
  readonly #ready = new Map<number, { lines: SignedLine[]; written: () => void }>();
  readonly #onLines: (lines: SignedLine[], written: () => void) => Promise<void>;
  /** Input buffers the threads handed back, to fill again (fresh memory costs page faults). */
  readonly #spare: ArrayBuffer[] = [];
  #nextId = 0;
  #nextOut = 0;
  #held = 0;
  #delivering = false;
  #waiters: (() => void)[] = [];
  #failure: ErstError | undefined;
  #closing = false;

  constructor(
    count: number,
    config: ThreadConfig,
    onLines: (lines: SignedLine[], written: () => void) => Promise<void>,
  ) {
    this.#onLines = onLines;
    for (let i = 0; i < count; i++) {
      const worker = new Worker(SIGN_WORKER_URL, { workerData: config });
      const slot: Slot = { worker, inFlight: 0 };
      worker.on('message', (msg: LinesResult) => this.#settle(slot, msg));
      worker.on('error', (e) =>
        this.#fail(new ErstError('ERR_SIGNER_FAILED', `a signing thread failed: ${(e as Error).message}`)),
      );
      worker.on('exit', (code) => {
        if (!this.#closing) this.#fail(new ErstError('ERR_SIGNER_FAILED', `a signing thread exited (code ${code})`));
      });
      this.#slots.push(slot);
    }
  }

  /** The failure that stopped the threads, if any: submitting again is pointless. */
  get failure(): ErstError | undefined {
    return this.#failure;
  }

  /** Sends `lines` (their 1-based numbers and bytes) once a place is free. */
  async submit(numbers: number[], lines: Uint8Array[]): Promise<void> {
    while (!this.#failure && this.#held >= this.#slots.length * IN_FLIGHT_PER_THREAD) {
      await new Promise<void>((r) => this.#waiters.push(r));
    }
    if (this.#failure) return;
    let size = 0;
    for (const l of lines) size += l.length;
    const i = this.#spare.findIndex((b) => b.byteLength >= size);
    const data = new Uint8Array(
      i === -1 ? new ArrayBuffer(Math.max(size, 2 * BYTES_PER_MESSAGE)) : this.#spare.splice(i, 1)[0]!,
    );
    const ends = new Uint32Array(lines.length);
    let off = 0;
    for (let i = 0; i < lines.length; i++) {
      data.set(lines[i]!, off);
      off += lines[i]!.length;
      ends[i] = off;
    }
    let slot = this.#slots[0]!;
    for (const s of this.#slots) if (s.inFlight < slot.inFlight) slot = s;
    const id = this.#nextId++;
    slot.inFlight++;
    this.#held++;
    this.#pending.set(id, { slot, lines: numbers, ends });
    // `ends` is copied (it is small and read again here); `data` moves and comes back.
    const msg: LinesMessage = { id, data: data.buffer, ends: ends.buffer };
    slot.worker.postMessage(msg, [data.buffer]);
  }

  /** Resolves once every message submitted has been handed to `onLines` and released, or the threads failed. */
  async drain(): Promise<void> {
    while (!this.#failure && this.#held > 0) await new Promise<void>((r) => this.#waiters.push(r));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #settle(slot: Slot, msg: LinesResult): void {
    slot.inFlight--;
    const pending = this.#pending.get(msg.id);
    if (!pending) return;
    this.#pending.delete(msg.id);
    if ('fatal' in msg) {
      this.#fail(new ErstError(msg.fatal.code as never, msg.fatal.message));
      return;
    }
    const data = new Uint8Array(msg.data);
    const out = new Uint8Array(msg.out);
    const outEnds = new Uint32Array(msg.outEnds);
    const lines: SignedLine[] = [];
    let inStart = 0;
    let outStart = 0;
    const inEnds = pending.ends;
    for (let i = 0; i < msg.outcomes.length; i++) {
      const outcome = msg.outcomes[i]!;
      const end = outEnds[i]!;
      lines.push({
        line: pending.lines[i]!,
        outcome,
        input: data.subarray(inStart, inEnds[i]),
        encoded: end > outStart ? out.subarray(outStart, end) : undefined,
      });
      inStart = inEnds[i]!;
      outStart = end;
    }
    const written = () => {
      // The message's place is free, and its buffers go back to be filled again.
      this.#spare.push(msg.data);
      if (!this.#closing) pending.slot.worker.postMessage({ recycle: msg.out } satisfies LinesMessage, [msg.out]);
      this.#held--;
      this.#waiters.shift()?.();
    };
    this.#ready.set(msg.id, { lines, written });
    void this.#deliver();
  }

  /** Hands results on in submission order, one message at a time (repeats are found in input order). */
  async #deliver(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (;;) {
        const next = this.#ready.get(this.#nextOut);
        if (!next) break;
        this.#ready.delete(this.#nextOut);
        this.#nextOut++;
        await this.#onLines(next.lines, next.written);
      }
    } catch (e) {
      // Writing is the sink's: its failures are ErstErrors. Anything else is a bug here, never a signer failure.
      this.#fail(isErstError(e) ? e : new ErstError('ERR_INTERNAL', (e as Error).message, { cause: e }));
    } finally {
      this.#delivering = false;
    }
  }

  #fail(e: ErstError): void {
    this.#failure ??= e;
    for (const w of this.#waiters.splice(0)) w();
  }
}
