import type { BufferReturn, ChunkMessage } from './protocol.js';

/** Chunks queued per verifier: enough to keep it busy, few enough to bound memory (as in erst-batch). */
const IN_FLIGHT_PER_VERIFIER = 3;

interface Slot {
  port: MessagePort;
  inFlight: number;
}

/**
 * The reader's side of the verifiers: one MessagePort each. `submit` sends a
 * chunk to the least busy verifier, transferring its buffer, and waits while
 * every verifier has its share: the reading loop waits with it, so memory
 * stays flat whatever the archive's size. A verifier gives the buffer back
 * when it is done with it; `spare` hands those out again, so that a fixed set
 * of buffers carries the whole archive (Chromium allocates large buffers
 * slowly).
 */
export class Dispatcher {
  readonly #slots: Slot[] = [];
  readonly #spare: ArrayBuffer[] = [];
  readonly #bufferBytes: number;
  #waiters: (() => void)[] = [];

  /** `bufferBytes`: the size of a chunk's buffer (a record larger than that travels alone, in one of its own). */
  constructor(ports: readonly MessagePort[], bufferBytes: number) {
    this.#bufferBytes = bufferBytes;
    for (const port of ports) {
      const slot: Slot = { port, inFlight: 0 };
      port.onmessage = (e: MessageEvent<BufferReturn>) => {
        slot.inFlight--;
        if (e.data.buffer.byteLength === bufferBytes) this.#spare.push(e.data.buffer);
        this.#wake();
      };
      this.#slots.push(slot);
    }
  }

  #wake(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const w of waiters) w();
  }

  /** A buffer for the next chunk that holds at least `size` bytes: a returned one when it fits. */
  buffer(size: number): ArrayBuffer {
    if (size > this.#bufferBytes) return new ArrayBuffer(size);
    return this.#spare.pop() ?? new ArrayBuffer(this.#bufferBytes);
  }

  /** Sends a chunk to the least busy verifier (its buffer is transferred), waiting while all are full. */
  async submit(chunk: ChunkMessage): Promise<void> {
    for (;;) {
      let best: Slot | undefined;
      for (const s of this.#slots)
        if (s.inFlight < IN_FLIGHT_PER_VERIFIER && (!best || s.inFlight < best.inFlight)) best = s;
      if (best) {
        best.inFlight++;
        best.port.postMessage(chunk, [chunk.buffer]);
        return;
      }
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
  }
}
