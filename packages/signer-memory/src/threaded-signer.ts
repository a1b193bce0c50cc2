import type { KeyObject } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { type Algorithm, ErstError, type PublicKey, type Signer, digestError } from '@erst/core';
import type { InMemorySigner } from './memory-signer.js';

interface Pending {
  digest: Uint8Array;
  resolve: (sig: Uint8Array) => void;
  reject: (e: unknown) => void;
}

/**
 * Digests per message to the signing thread. Small enough that the thread
 * signs one batch while the main thread canonicalizes and hashes the next
 * (one big batch would leave each side waiting for the other), large enough
 * to share the cost of a message. Measured: 4 and 16 were slower.
 */
const BATCH = 8;

// The signing thread: holds the key, signs each batch of 32-byte digests and
// answers with one message. Inline (eval) so that it runs the same from
// source under test and from dist.
const SIGNING_THREAD = `
const { sign } = require('node:crypto');
const { parentPort, workerData } = require('node:worker_threads');
parentPort.on('message', (msg) => {
  const digests = new Uint8Array(msg.digests);
  const out = new Uint8Array(msg.count * 64);
  try {
    for (let i = 0; i < msg.count; i++) out.set(sign(null, digests.subarray(i * 32, i * 32 + 32), workerData.key), i * 64);
    parentPort.postMessage({ id: msg.id, signatures: out.buffer }, [out.buffer]);
  } catch (e) {
    parentPort.postMessage({ id: msg.id, error: (e && e.code) || 'signing failed' });
  }
});
`;

/**
 * An in-memory Ed25519 key that signs on a thread of its own, for bulk
 * signing (`erst audit sign --batch`): the main thread builds, canonicalizes
 * and hashes records while this thread signs them. About 20% more records per
 * second than InMemorySigner on libuv's pool, whose four threads compete with
 * the main thread for two cores. Starting the thread costs some milliseconds:
 * for one record, use InMemorySigner.
 */
export class ThreadedSigner implements Signer {
  readonly algorithm: Algorithm = 'ed25519';
  readonly #publicKey: PublicKey;
  readonly #inner: InMemorySigner;
  #worker: Worker | undefined;
  #queue: Pending[] = [];
  readonly #inFlight = new Map<number, Pending[]>();
  #nextId = 0;
  #flushScheduled = false;
  #closed = false;
  #failure: ErstError | undefined;

  private constructor(signer: InMemorySigner, publicKey: PublicKey) {
    this.#publicKey = publicKey;
    this.#inner = signer;
  }

  /**
   * The signing thread, started on the first signature: a batch whose lines
   * are signed on threads of its own (`signBatch`'s `threads`, given this
   * signer's `keyObject`) never pays for it.
   */
  #thread(): Worker {
    if (this.#worker) return this.#worker;
    // A KeyObject is cloned to the thread without being exported.
    const worker = new Worker(SIGNING_THREAD, { eval: true, workerData: { key: this.#inner.keyObject } });
    worker.on('message', (msg: { id: number; signatures?: ArrayBuffer; error?: string }) => this.#settle(msg));
    worker.on('error', (e) =>
      this.#fail(new ErstError('ERR_SIGNER_FAILED', `the signing thread failed: ${e.message}`)),
    );
    worker.on('exit', () => {
      if (!this.#closed) this.#fail(new ErstError('ERR_SIGNER_FAILED', 'the signing thread exited'));
    });
    // An idle signer does not keep the process alive; work in flight does.
    worker.unref();
    this.#worker = worker;
    return worker;
  }

  static async from(signer: InMemorySigner): Promise<ThreadedSigner> {
    return new ThreadedSigner(signer, await signer.publicKey());
  }

  async publicKey(): Promise<PublicKey> {
    return this.#publicKey;
  }

  sign(digest: Uint8Array): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ErstError('ERR_SIGNER_CLOSED', 'the signer is closed'));
    const bad = digestError(digest);
    if (bad) return Promise.reject(bad);
    return new Promise((resolve, reject) => {
      this.#queue.push({ digest, resolve, reject });
      if (this.#queue.length >= BATCH) this.#flush();
      else if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        setImmediate(() => {
          this.#flushScheduled = false;
          this.#flush();
        });
      }
    });
  }

  /** The node:crypto key, for threads of a caller's own (`signBatch`'s `threads`). */
  get keyObject(): KeyObject {
    return this.#inner.keyObject;
  }

  /** Signs a whole message (a checkpoint's note text) on libuv's pool: one at a time, the thread buys nothing. */
  signMessage(message: Uint8Array): Promise<Uint8Array> {
    if (this.#failure) return Promise.reject(this.#failure);
    if (this.#closed) return Promise.reject(new ErstError('ERR_SIGNER_CLOSED', 'the signer is closed'));
    return this.#inner.signMessage(message);
  }

  #flush(): void {
    const batch = this.#queue;
    if (batch.length === 0) return;
    this.#queue = [];
    const digests = new Uint8Array(batch.length * 32);
    for (let i = 0; i < batch.length; i++) digests.set(batch[i]!.digest, i * 32);
    const id = this.#nextId++;
    this.#inFlight.set(id, batch);
    const worker = this.#thread();
    worker.ref();
    worker.postMessage({ id, digests: digests.buffer, count: batch.length }, [digests.buffer]);
  }

  #settle(msg: { id: number; signatures?: ArrayBuffer; error?: string }): void {
    const batch = this.#inFlight.get(msg.id);
    if (!batch) return;
    this.#inFlight.delete(msg.id);
    if (this.#inFlight.size === 0) this.#worker?.unref();
    if (!msg.signatures) {
      const e = new ErstError('ERR_SIGNER_FAILED', `signing failed (${msg.error})`);
      for (const p of batch) p.reject(e);
      return;
    }
    const sigs = new Uint8Array(msg.signatures);
    for (let i = 0; i < batch.length; i++) batch[i]!.resolve(sigs.slice(i * 64, i * 64 + 64));
  }

  #fail(e: ErstError): void {
    this.#failure ??= e;
    for (const batch of this.#inFlight.values()) for (const p of batch) p.reject(e);
    for (const p of this.#queue) p.reject(e);
    this.#inFlight.clear();
    this.#queue = [];
  }

  /** Waits for the signatures in flight, then stops the thread. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    while ((this.#queue.length > 0 || this.#inFlight.size > 0) && !this.#failure) {
      await new Promise<void>((r) => setImmediate(r));
    }
    this.#closed = true;
    await this.#worker?.terminate();
  }
}
