// A signing thread of `signBatch`'s `threads`: turns a message of input
// lines into their output lines (parse, check, build, canonicalize, hash,
// sign, serialize), so that the main thread only reads, orders and writes.
import { type KeyObject, sign as nodeSign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { type Signer, digestError, errorCategory, generateWithSigner, isErstError } from '@erst/core';
import { LineError, lineDocument } from './input.js';
import type { LineOutcome, LinesMessage, LinesResult, ThreadConfig } from './thread-protocol.js';

const config = workerData as ThreadConfig;
const key: KeyObject = config.key;
const encoder = new TextEncoder();

// The same signatures as InMemorySigner's (RFC 8032 Ed25519 over the digest),
// made here, synchronously: this thread is the unit of parallelism.
const signer: Signer = {
  algorithm: 'ed25519',
  publicKey: async () => config.publicKey,
  sign: async (digest) => {
    const bad = digestError(digest);
    if (bad) throw bad;
    return nodeSign(null, digest, key);
  },
};

async function signLine(bytes: Uint8Array): Promise<{ outcome: LineOutcome; encoded?: Uint8Array }> {
  let transactionHash: string | undefined;
  try {
    const document = lineDocument(bytes);
    transactionHash = document.transactionHash;
    const record = await generateWithSigner(signer, document, {
      schema: config.schema,
      recordSignature: config.recordSignature,
    });
    const text = config.layout === 'indented' ? JSON.stringify(record, null, 2) : JSON.stringify(record);
    return { outcome: { transactionHash }, encoded: encoder.encode(`${text}\n`) };
  } catch (e) {
    // What would be a bad line signed on the main thread is one here too; the
    // main thread still checks repeats and the output first, as it does there.
    if (e instanceof LineError) return { outcome: { bad: { code: e.code, message: e.message } } };
    if (isErstError(e) && errorCategory(e.code) === 'input')
      return { outcome: { transactionHash, bad: { code: e.code, message: e.message } } };
    throw e;
  }
}

parentPort!.on('message', async (msg: LinesMessage) => {
  const data = new Uint8Array(msg.data);
  const ends = new Uint32Array(msg.ends);
  const outcomes: LineOutcome[] = [];
  const pieces: Uint8Array[] = [];
  const outEnds = new Uint32Array(ends.length);
  let size = 0;
  try {
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      const { outcome, encoded } = await signLine(data.subarray(start, ends[i]));
      start = ends[i]!;
      outcomes.push(outcome);
      if (encoded) {
        pieces.push(encoded);
        size += encoded.length;
      }
      outEnds[i] = size;
    }
  } catch (e) {
    const code = isErstError(e) ? e.code : 'ERR_SIGNER_FAILED';
    const result: LinesResult = { id: msg.id, fatal: { code, message: (e as Error).message } };
    parentPort!.postMessage(result);
    return;
  }
  const out = new Uint8Array(size);
  let off = 0;
  for (const p of pieces) {
    out.set(p, off);
    off += p.length;
  }
  // The input goes back with the result: the main thread reads a line again
  // only to resume (a transaction the output may already hold).
  const result: LinesResult = { id: msg.id, outcomes, out: out.buffer, outEnds: outEnds.buffer, data: msg.data };
  parentPort!.postMessage(result, [out.buffer, outEnds.buffer, msg.data]);
});
