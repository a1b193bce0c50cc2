import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import { ErstError } from '@erst/core';
import type { Handle } from './constants.js';

/** What a signing thread gives back for one digest: a signature, or the error the token returned. */
export type ThreadResult = Uint8Array | Error;

// A signing thread: loads pkcs11js and the same module file (dlopen hands back
// the library the main thread initialized and logged into; handles are
// process-wide), then signs each batch on the one session it names, one
// digest after the other, with blocking C_SignInit and C_Sign. It never calls
// C_Initialize or C_Finalize: the library's state belongs to the main thread.
// Inline (eval) so that it runs the same from source under test and from dist.
const SIGNING_THREAD = `
const { parentPort, workerData } = require('node:worker_threads');
const pkcs11js = require(workerData.pkcs11js);
const p11 = new pkcs11js.PKCS11();
p11.load(workerData.module);
// On Linux a nice value is per thread: this thread yields to the event loop
// that feeds it. When cores are scarce (a local token such as SoftHSM signs
// on the CPU) a starved event loop leaves every signing thread waiting for
// work; with cores to spare, or a network HSM, it changes nothing.
if (process.platform === 'linux') {
  try { require('node:os').setPriority(0, workerData.nice); } catch {}
}
const out = Buffer.alloc(72);
parentPort.on('message', (msg) => {
  const session = Buffer.from(msg.session);
  const key = Buffer.from(msg.key);
  const mechanism = { mechanism: msg.mechanism };
  const digests = Buffer.from(msg.digests);
  // Signature i at i * 72, its length in the last msg.count bytes (0: failed, see errors[i]).
  const sigs = new Uint8Array(msg.count * 73);
  let errors;
  const started = performance.now();
  for (let i = 0; i < msg.count; i++) {
    try {
      p11.C_SignInit(session, mechanism, key);
      const sig = p11.C_Sign(session, digests.subarray(i * 32, i * 32 + 32), out);
      sigs.set(sig, i * 72);
      sigs[msg.count * 72 + i] = sig.length;
    } catch (e) {
      // Only the CKR name (or the message of a type error) crosses back: never arguments.
      (errors ??= [])[i] = String((e && e.message) || e).split('\\n')[0];
    }
  }
  const ms = performance.now() - started;
  parentPort.postMessage({ id: msg.id, sigs: sigs.buffer, errors, ms }, [sigs.buffer]);
});
`;

/** Measured with `pnpm bench hsm` on two cores: 5 and 10 alike, both well ahead of 0. */
const THREAD_NICE = 5;

interface Reply {
  id: number;
  /** Signature i at i * 72; the last `count` bytes hold their lengths. */
  sigs: ArrayBuffer;
  /** Present when a signature failed: the error for each index that failed. */
  errors?: (string | undefined)[];
  /** Time the thread spent on the batch. */
  ms: number;
}

/** Most digests in one message: enough to share the cost of a message. */
const MAX_BATCH = 8;
/**
 * The signatures in flight go out in at least this many batches, so that
 * threads sign while the event loop prepares the next digests instead of
 * taking turns with it (`pnpm bench hsm`: 2 to 4 best on two cores, 8 worse).
 */
const MIN_BATCHES = 4;
/**
 * A batch holds about this much signing time. A token that takes
 * milliseconds a signature (a network HSM, a YubiKey) gets batches of one,
 * so every session of the pool works at once, as with C_SignAsync; a local
 * token that signs in a tenth of a millisecond gets full batches.
 */
const BATCH_MS = 2;

/**
 * How many digests the next batch takes, with `inFlight` signatures
 * outstanding and `signatureMs` the time a signature takes on the token
 * (undefined before the first batch returns).
 */
export function threadBatchSize(inFlight: number, signatureMs: number | undefined): number {
  const spread = Math.ceil(inFlight / MIN_BATCHES);
  const byTime = signatureMs === undefined || signatureMs <= 0 ? MAX_BATCH : Math.floor(BATCH_MS / signatureMs);
  return Math.max(1, Math.min(MAX_BATCH, spread, byTime));
}

interface Pending {
  count: number;
  resolve: (results: ThreadResult[]) => void;
  reject: (error: unknown) => void;
}

class SigningThread {
  readonly worker: Worker;
  /** Digests sent and not answered yet. */
  load = 0;
  readonly pending = new Map<number, Pending>();
  readonly #onTiming: (ms: number, count: number) => void;

  constructor(
    modulePath: string,
    pkcs11jsPath: string,
    onFailure: (error: ErstError) => void,
    onTiming: (ms: number, count: number) => void,
  ) {
    this.#onTiming = onTiming;
    this.worker = new Worker(SIGNING_THREAD, {
      eval: true,
      workerData: { module: modulePath, pkcs11js: pkcs11jsPath, nice: THREAD_NICE },
    });
    this.worker.on('message', (reply: Reply) => this.#settle(reply));
    this.worker.on('error', (e) =>
      onFailure(new ErstError('ERR_PKCS11', `a PKCS#11 signing thread failed: ${e.message}`)),
    );
    this.worker.on('exit', () => onFailure(new ErstError('ERR_PKCS11', 'a PKCS#11 signing thread exited')));
    // An idle signer does not keep the process alive; work in flight does.
    this.worker.unref();
  }

  #settle(reply: Reply): void {
    const p = this.pending.get(reply.id);
    if (!p) return;
    this.pending.delete(reply.id);
    this.load -= p.count;
    this.#onTiming(reply.ms, p.count);
    if (this.pending.size === 0) this.worker.unref();
    const sigs = new Uint8Array(reply.sigs);
    const results: ThreadResult[] = [];
    for (let i = 0; i < p.count; i++) {
      const error = reply.errors?.[i];
      results.push(
        error
          ? Object.assign(new Error(error), { method: 'C_Sign' })
          : sigs.slice(i * 72, i * 72 + sigs[p.count * 72 + i]!),
      );
    }
    p.resolve(results);
  }

  fail(error: ErstError): void {
    for (const p of this.pending.values()) p.reject(error);
    this.pending.clear();
    this.load = 0;
  }
}

/**
 * Threads that make the blocking PKCS#11 signing calls, so that the event
 * loop never waits on the token: C_SignInit is synchronous in pkcs11js, a
 * round trip to a network HSM, and on a local token it competes with the
 * canonicalization and hashing the main thread does between signatures.
 * Digests travel in batches on one leased session each; threads start as
 * load needs them, up to `max` (the session pool's size).
 */
export class SigningThreads {
  readonly #modulePath: string;
  readonly #pkcs11jsPath: string;
  readonly #max: number;
  readonly #threads: SigningThread[] = [];
  #nextId = 0;
  #signatureMs: number | undefined;
  #failure: ErstError | undefined;
  #closed = false;

  constructor(modulePath: string, max: number) {
    this.#modulePath = modulePath;
    this.#pkcs11jsPath = createRequire(import.meta.url).resolve('pkcs11js');
    this.#max = max;
  }

  get size(): number {
    return this.#threads.length;
  }

  /** Digests to put in the next batch, with `inFlight` signatures outstanding. */
  batchSize(inFlight: number): number {
    return threadBatchSize(inFlight, this.#signatureMs);
  }

  /** Signs `digests` (32 bytes each) one after the other on `session`; one result per digest, in order. */
  sign(session: Handle, mechanism: number, key: Handle, digests: Uint8Array[]): Promise<ThreadResult[]> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed'));
    const thread = this.#pick();
    const packed = new Uint8Array(digests.length * 32);
    for (let i = 0; i < digests.length; i++) packed.set(digests[i]!, i * 32);
    const id = this.#nextId++;
    return new Promise((resolve, reject) => {
      thread.pending.set(id, { count: digests.length, resolve, reject });
      thread.load += digests.length;
      thread.worker.ref();
      thread.worker.postMessage(
        {
          id,
          session: new Uint8Array(session),
          key: new Uint8Array(key),
          mechanism,
          digests: packed.buffer,
          count: digests.length,
        },
        [packed.buffer],
      );
    });
  }

  /** The least loaded thread; a new one when every thread is busy and there is room. */
  #pick(): SigningThread {
    let best: SigningThread | undefined;
    for (const t of this.#threads) if (!best || t.load < best.load) best = t;
    if (best && (best.load === 0 || this.#threads.length >= this.#max)) return best;
    const thread = new SigningThread(
      this.#modulePath,
      this.#pkcs11jsPath,
      (e) => this.#fail(e),
      (ms, count) => {
        // The fastest recent pace, not the average: with cores scarce, a
        // thread's batch also waits for the CPU, and that wait says nothing
        // about the token. The minimum creeps up 5% a batch to follow a
        // token that really slows down.
        const per = ms / count;
        this.#signatureMs = this.#signatureMs === undefined ? per : Math.min(per, this.#signatureMs * 1.05);
      },
    );
    this.#threads.push(thread);
    return thread;
  }

  #fail(error: ErstError): void {
    if (this.#closed) return;
    this.#failure ??= error;
    for (const t of this.#threads) t.fail(this.#failure);
  }

  /** Stops the threads (call when nothing is in flight, and before C_Finalize). Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }
}
