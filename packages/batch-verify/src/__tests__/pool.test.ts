import { generateWithSigner } from '@erst/core';
import { generateKeyPair } from '@erst/signer-memory';
import { describe, expect, it } from 'vitest';
// The built package: WorkerPool's threads run dist/worker.js, which only exists built.
import { InlinePool, LazyPool, WorkerPool } from '../../dist/pool.js';
import type { ChunkMessage, ChunkSummary, WorkerConfig } from '../../dist/protocol.js';

const pinned = generateKeyPair();
const other = generateKeyPair();

/** A chunk of records: valid, signed by a key not pinned, one byte of a signature changed, not JSON. */
async function chunk(): Promise<ChunkMessage> {
  const texts: string[] = [];
  for (let i = 0; i < 4; i++) {
    const record = await generateWithSigner(
      i === 1 ? other.signer : pinned.signer,
      { transactionHash: (i + 1).toString(16).padStart(64, '0'), payload: { n: i } },
      { attestation: null, now: () => new Date(Date.UTC(2026, 9, 1 + i, 12)) },
    );
    texts.push(JSON.stringify(record));
  }
  texts[2] = texts[2]!.replace(/"signature":"(.)/, (_, c: string) => `"signature":"${c === '0' ? '1' : '0'}`);
  texts.push('{"not": "a record"');
  const bytes = texts.map((t) => Buffer.from(t));
  const buffer = new ArrayBuffer(bytes.reduce((n, b) => n + b.length, 0));
  const ends: number[] = [];
  let at = 0;
  for (const b of bytes) {
    new Uint8Array(buffer).set(b, at);
    at += b.length;
    ends.push(at);
  }
  return { id: 7, buffer, ends: Uint32Array.from(ends) };
}

const CONFIG: WorkerConfig = {
  verify: { publicKeys: [pinned.publicKeyHex] },
  contentHash: true,
  outcomes: true,
  log: true,
};

/** Submits one chunk to a pool and returns what it reported. */
async function summaryFrom(
  make: (onResult: (id: number, s: ChunkSummary, b: ArrayBuffer) => void) => {
    submit(c: ChunkMessage, last: boolean): Promise<void>;
    drain(): Promise<void>;
    close(): Promise<void>;
  },
  msg: ChunkMessage,
): Promise<{ id: number; summary: ChunkSummary; bytes: number }> {
  let got: { id: number; summary: ChunkSummary; bytes: number } | undefined;
  const pool = make((id, summary, buffer) => {
    got = { id, summary, bytes: buffer.byteLength };
  });
  try {
    await pool.submit(msg, true);
    await pool.drain();
  } finally {
    await pool.close();
  }
  return got!;
}

describe('where a chunk is verified', () => {
  it('a verifier thread and the calling thread give the same summary', async () => {
    const size = (await chunk()).buffer.byteLength;
    const threaded = await summaryFrom((r) => new WorkerPool(1, CONFIG, r), await chunk());
    const inline = await summaryFrom((r) => new InlinePool(CONFIG, r), await chunk());
    expect(inline).toEqual(threaded);
    expect(inline.id).toBe(7);
    // The buffer comes back whole, to be filled again.
    expect(inline.bytes).toBe(size);
    // Record 0 valid, 1 untrusted, 2 a changed signature, 3 valid, 4 not JSON.
    expect(Array.from(inline.summary.valid)).toEqual([1, 0, 0, 1, 0]);
    expect(inline.summary.failures.map((f) => [f.index, f.errors[0]![0]])).toEqual([
      [1, 'ERR_KEY_NOT_TRUSTED'],
      [2, 'ERR_SIGNATURE_INVALID'],
      [4, 'ERR_JSON_SYNTAX'],
    ]);
    expect(inline.summary.outcomes).toHaveLength(5);
    expect(inline.summary.contentHashes).toHaveLength(5);
  });

  it('LazyPool starts threads only for a run of more than one chunk', async () => {
    const one = new LazyPool(2, CONFIG, () => {});
    await one.submit(await chunk(), true);
    expect(one.threaded).toBe(false);
    await one.close();
    let reported = 0;
    const many = new LazyPool(2, CONFIG, () => reported++);
    await many.submit(await chunk(), false);
    await many.submit(await chunk(), true);
    await many.drain();
    expect(many.threaded).toBe(true);
    expect(reported).toBe(2);
    await many.close();
  });

  it('LazyPool.prestart starts the threads before any chunk; the first chunk is announced once', async () => {
    let firsts = 0;
    let reported = 0;
    const pool = new LazyPool(
      2,
      CONFIG,
      () => reported++,
      () => firsts++,
    );
    pool.prestart();
    expect(pool.threaded).toBe(true);
    expect(firsts).toBe(0);
    // A run's only chunk still goes to the threads already started, not to the calling thread.
    await pool.submit(await chunk(), false);
    await pool.submit(await chunk(), true);
    await pool.drain();
    expect(pool.threaded).toBe(true);
    expect(firsts).toBe(1);
    expect(reported).toBe(2);
    await pool.close();
  });
});
