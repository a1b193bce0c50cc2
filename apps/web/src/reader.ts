import { type ByteCounter, readInput } from './inputs.js';
import { Dispatcher } from './pool.js';
import type { ReaderInit, ReaderMessage } from './protocol.js';

/** Records per chunk sent to a verifier, and the size of a chunk's buffer (as in erst-batch). */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;

/** The parts of a dedicated worker's global scope used here (the DOM typings describe a window). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<ReaderInit>) => void) | null;
  postMessage(message: ReaderMessage): void;
};

/**
 * Packs records into chunk buffers and sends each full chunk to a verifier.
 * Each record is copied once, from the reader's (reused) buffer into the
 * chunk's; from there it is transferred, never copied again.
 */
class Packer {
  readonly #dispatcher: Dispatcher;
  #buffer: ArrayBuffer | undefined;
  #view = new Uint8Array(0);
  #used = 0;
  #ends: number[] = [];
  #sources: string[] = [];
  #inputs: number[] = [];
  sent = 0;

  constructor(dispatcher: Dispatcher) {
    this.#dispatcher = dispatcher;
  }

  async add(source: string, input: number, bytes: Uint8Array): Promise<void> {
    if (this.#buffer && this.#used + bytes.length > this.#buffer.byteLength) await this.flush();
    if (!this.#buffer) {
      this.#buffer = this.#dispatcher.buffer(bytes.length);
      this.#view = new Uint8Array(this.#buffer);
    }
    this.#view.set(bytes, this.#used);
    this.#used += bytes.length;
    this.#ends.push(this.#used);
    this.#sources.push(source);
    this.#inputs.push(input);
    if (this.#ends.length >= CHUNK_RECORDS) await this.flush();
  }

  async flush(): Promise<void> {
    if (this.#ends.length === 0 || !this.#buffer) return;
    const chunk = {
      id: this.sent++,
      buffer: this.#buffer,
      ends: Uint32Array.from(this.#ends),
      sources: this.#sources,
      inputs: this.#inputs,
    };
    this.#buffer = undefined;
    this.#used = 0;
    this.#ends = [];
    this.#sources = [];
    this.#inputs = [];
    await this.#dispatcher.submit(chunk);
  }
}

/**
 * Reads every input with @erst/archive's readers (the ones erst-batch uses),
 * off the page's thread: inflating a .tar.gz and walking its members cost
 * the page as much as a verifier's work. What cannot be read goes to the
 * page as erst-batch reports it; an input that holds no record at all is
 * ERR_ARCHIVE_EMPTY, as in erst-batch.
 */
async function read(init: ReaderInit): Promise<number> {
  const packer = new Packer(new Dispatcher(init.ports, CHUNK_BYTES));
  const counter: ByteCounter = { read: 0 };
  let reported = 0;
  for (let i = 0; i < init.inputs.length; i++) {
    const input = init.inputs[i]!;
    let any = false;
    for await (const item of readInput(input, i, init.maxBytes, counter)) {
      any = true;
      if (item.kind === 'failure') scope.postMessage({ failure: item });
      else await packer.add(item.source, i, item.bytes);
      // Progress at most once per chunk's worth of bytes: a message per record would cost more than the record.
      if (counter.read - reported >= CHUNK_BYTES) {
        reported = counter.read;
        scope.postMessage({ progress: reported });
      }
    }
    if (!any) {
      scope.postMessage({
        failure: {
          kind: 'failure',
          source: input.name,
          input: i,
          code: 'ERR_ARCHIVE_EMPTY',
          message: 'holds no record',
          scope: 'unreadable',
        },
      });
    }
  }
  await packer.flush();
  scope.postMessage({ progress: counter.read });
  return packer.sent;
}

scope.onmessage = (e) => {
  read(e.data).then(
    (chunks) => scope.postMessage({ done: chunks }),
    (err: unknown) => scope.postMessage({ fatal: err instanceof Error ? err.message : String(err) }),
  );
};
