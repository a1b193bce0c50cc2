import { Worker } from 'node:worker_threads';
import { ErstError, type ThreadSigning, isErstError } from '@erst/core';
import { BlockSigner } from './sign-lines.js';
import {
  type BlockResult,
  COLUMNS,
  type LinesMessage,
  type LinesResult,
  TOO_LONG,
  type ThreadConfig,
} from './thread-protocol.js';

/** The signing threads' code: beside this module, built or bundled (apps name it as an entry of their bundle). */
export const SIGN_WORKER_URL = new URL('./sign-worker.js', import.meta.url);

/**
 * Lines per block, and bytes: enough lines to share a message's cost
 * (some tens of microseconds each way, and a write and an fsync per group
 * on the main thread), few enough that every thread gets work early and
 * that records in flight stay bounded.
 */
export const LINES_PER_MESSAGE = 64;
export const BYTES_PER_MESSAGE = 1 << 20;
/**
 * Blocks per thread not yet written: one being signed, more waiting, and
 * those whose group is being written and fsynced, so that a thread never
 * idles while the main thread writes.
 */
const IN_FLIGHT_PER_THREAD = 4;
/** Blocks sent to a thread and not yet back: one it signs, one waiting. Beyond that, this thread signs the block itself. */
const QUEUED_PER_THREAD = 2;
/** Input buffers start this small and grow (once: they are reused) to what blocks need: less memory to fault in and to account. */
const BUFFER_BYTES = 256 * 1024;

interface Slot {
  readonly worker: Worker;
  inFlight: number;
}

/**
 * A fixed set of signing threads, and this thread. `submit` sends a block
 * of lines to the least busy thread; when each has a block waiting already
 * (or there are none: `count` 0, a batch too small to repay starting one),
 * this thread signs it, with the same code. So this thread's spare time
 * signs (on two cores, one thread and this one), and it signs from the
 * start while the threads are still starting. Results are handed to
 * `onBlock` in the order the blocks were submitted, one at a time; `submit`
 * waits while too many are not yet written. The caller frees a block's
 * place by calling `written` once its records are written (its buffers are
 * then reused), so that reading stays in step with writing, not only with signing.
 */
export class LineThreads {
  readonly #slots: Slot[] = [];
  readonly #inline: BlockSigner;
  readonly #pending = new Map<number, Slot | undefined>();
  readonly #ready = new Map<number, { block: BlockResult; written: () => void }>();
  readonly #onBlock: (block: BlockResult, written: () => void) => Promise<void>;
  /** Input buffers handed back, to fill again (fresh memory costs page faults). */
  readonly #spare: ArrayBuffer[] = [];
  #nextId = 0;
  #nextOut = 0;
  #held = 0;
  #delivering = false;
  #waiters: (() => void)[] = [];
  #failure: ErstError | undefined;
  #closing = false;

  /**
   * `signing` (a signer's way to sign on threads: see ThreadSigning) needs
   * `count + 1` entries of data: one per thread, then this thread's.
   */
  constructor(
    count: number,
    config: Omit<ThreadConfig, 'signing'>,
    onBlock: (block: BlockResult, written: () => void) => Promise<void>,
    signing?: ThreadSigning,
  ) {
    if (signing && signing.data.length < count + 1)
      throw new RangeError(`signing has data for ${signing.data.length} threads, not ${count + 1}`);
    const configOf = (i: number): ThreadConfig =>
      signing ? { ...config, signing: { module: signing.module, data: signing.data[i] } } : config;
    this.#onBlock = onBlock;
    this.#inline = new BlockSigner(configOf(count));
    for (let i = 0; i < count; i++) {
      const worker = new Worker(SIGN_WORKER_URL, { workerData: configOf(i) });
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

  /** A buffer of at least `bytes` to fill with a block: one handed back, or a new one. */
  buffer(bytes: number): ArrayBuffer {
    const i = this.#spare.findIndex((b) => b.byteLength >= bytes);
    return i === -1 ? new ArrayBuffer(Math.max(bytes, BUFFER_BYTES)) : this.#spare.splice(i, 1)[0]!;
  }

  /** Sends the lines in `data`'s first `length` bytes (see LinesMessage), once a place is free; `data` moves. */
  async submit(data: ArrayBuffer, length: number): Promise<void> {
    const cap = (this.#slots.length + 1) * IN_FLIGHT_PER_THREAD;
    while (!this.#failure && this.#held >= cap) await new Promise<void>((r) => this.#waiters.push(r));
    if (this.#failure) return;
    const id = this.#nextId++;
    this.#held++;
    let slot = this.#slots[0];
    for (const s of this.#slots) if (s.inFlight < slot!.inFlight) slot = s;
    if (!slot || slot.inFlight >= QUEUED_PER_THREAD) {
      this.#pending.set(id, undefined);
      let result: LinesResult;
      try {
        result = { id, ...(await this.#inline.sign(data, length)) };
      } catch (e) {
        const code = isErstError(e) ? e.code : 'ERR_SIGNER_FAILED';
        result = { id, fatal: { code, message: (e as Error).message } };
      }
      this.#settle(undefined, result);
      return;
    }
    slot.inFlight++;
    this.#pending.set(id, slot);
    slot.worker.postMessage({ id, data, length } satisfies LinesMessage, [data]);
  }

  /** Puts a line over the input limit (never read into memory) in its place among the blocks: one line, `size` bytes. */
  tooLong(size: number): void {
    const id = this.#nextId++;
    const block: BlockResult = {
      lines: 1,
      table: new Uint32Array(COLUMNS),
      kinds: Uint8Array.of(TOO_LONG),
      txs: '',
      traceHashes: '',
      bad: [{ entry: 0, code: 'ERR_INPUT_TOO_LARGE', message: '', size }],
      out: new ArrayBuffer(0),
      data: new ArrayBuffer(0),
    };
    this.#ready.set(id, { block, written: () => {} });
    void this.#deliver();
  }

  /** Resolves once every block submitted has been handed to `onBlock` and released, or the threads failed. */
  async drain(): Promise<void> {
    while (!this.#failure && this.#held > 0) await new Promise<void>((r) => this.#waiters.push(r));
  }

  async close(): Promise<void> {
    this.#closing = true;
    await Promise.all(this.#slots.map((s) => s.worker.terminate()));
  }

  #settle(slot: Slot | undefined, msg: LinesResult): void {
    if (slot) slot.inFlight--;
    if (!this.#pending.has(msg.id)) return;
    this.#pending.delete(msg.id);
    if ('fatal' in msg) {
      this.#fail(new ErstError(msg.fatal.code as never, msg.fatal.message));
      return;
    }
    const written = () => {
      // The block's place is free, and its buffers go back to be filled again.
      this.#spare.push(msg.data);
      if (!slot) this.#inline.recycle(msg.out);
      else if (!this.#closing) slot.worker.postMessage({ recycle: msg.out } satisfies LinesMessage, [msg.out]);
      this.#held--;
      this.#waiters.shift()?.();
    };
    this.#ready.set(msg.id, { block: msg, written });
    void this.#deliver();
  }

  /** Hands results on in submission order, one block at a time (repeats are found in input order). */
  async #deliver(): Promise<void> {
    if (this.#delivering) return;
    this.#delivering = true;
    try {
      for (;;) {
        const next = this.#ready.get(this.#nextOut);
        if (!next) break;
        this.#ready.delete(this.#nextOut);
        this.#nextOut++;
        await this.#onBlock(next.block, next.written);
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
