// A signing thread of `signBatch`'s `threads`: turns a message of input
// lines into their output lines (parse, check, build, canonicalize, hash,
// sign, serialize), so that the main thread only reads, orders and writes.
import { type KeyObject, sign as nodeSign } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { type Signer, digestError, errorCategory, generateWithSigner, isErstError } from '@erst/core';
import { LineError, lineDocument } from './line-document.js';
import type { LineOutcome, LinesMessage, LinesResult, ThreadConfig } from './thread-protocol.js';

const config = workerData as ThreadConfig;
const key: KeyObject | undefined = config.key;
const encoder = new TextEncoder();

// The same signatures as InMemorySigner's (RFC 8032 Ed25519 over the digest),
// made here, synchronously: this thread is the unit of parallelism. Without a
// key, records are sealed by a log's checkpoint instead: nothing is signed
// here (recordSignature is false), and the records name the signer's
// algorithm and attestation as the signer itself would.
const signer: Signer = {
  algorithm: config.publicKey.algorithm,
  publicKey: async () => config.publicKey,
  attestation: async () => config.attestation,
  sign: async (digest) => {
    const bad = digestError(digest);
    if (bad) throw bad;
    if (!key) throw new Error('this signing thread has no key');
    return nodeSign(null, digest, key);
  },
};

/** Output buffers written and handed back by the main thread, to fill again. */
const spare: ArrayBuffer[] = [];
let out = new Uint8Array(0);
let size = 0;

/** Room for `bytes` more output bytes; a larger buffer keeps what was written. */
function reserve(bytes: number): void {
  if (size + bytes <= out.length) return;
  const want = Math.max(2 * out.length, size + bytes, 1 << 20);
  const i = spare.findIndex((b) => b.byteLength >= want);
  const next = new Uint8Array(i === -1 ? new ArrayBuffer(want) : spare.splice(i, 1)[0]!);
  next.set(out.subarray(0, size));
  if (out.length > 0 && size === 0) spare.push(out.buffer as ArrayBuffer);
  out = next;
}

/** Signs one line into `out` (its record and a newline), or says why it is a bad line. */
async function signLine(bytes: Uint8Array): Promise<LineOutcome> {
  let transactionHash: string | undefined;
  try {
    const document = lineDocument(bytes);
    transactionHash = document.transactionHash;
    const record = await generateWithSigner(signer, document, {
      schema: config.schema,
      recordSignature: config.recordSignature,
    });
    const text = config.layout === 'indented' ? JSON.stringify(record, null, 2) : JSON.stringify(record);
    // Encoded in place: no string with the newline, no array per record.
    reserve(3 * text.length + 1);
    size += encoder.encodeInto(text, out.subarray(size)).written;
    out[size++] = 0x0a;
    return { transactionHash, traceHash: record.trace_hash };
  } catch (e) {
    // What would be a bad line signed on the main thread is one here too; the
    // main thread still checks repeats and the output first, as it does there.
    if (e instanceof LineError) return { bad: { code: e.code, message: e.message } };
    if (isErstError(e) && errorCategory(e.code) === 'input')
      return { transactionHash, bad: { code: e.code, message: e.message } };
    throw e;
  }
}

parentPort!.on('message', async (msg: LinesMessage) => {
  if ('recycle' in msg) {
    spare.push(msg.recycle);
    return;
  }
  const data = new Uint8Array(msg.data);
  const ends = new Uint32Array(msg.ends);
  const outcomes: LineOutcome[] = [];
  const outEnds = new Uint32Array(ends.length);
  out = new Uint8Array(spare.pop() ?? new ArrayBuffer(0));
  size = 0;
  try {
    let start = 0;
    for (let i = 0; i < ends.length; i++) {
      outcomes.push(await signLine(data.subarray(start, ends[i])));
      start = ends[i]!;
      outEnds[i] = size;
    }
  } catch (e) {
    const code = isErstError(e) ? e.code : 'ERR_SIGNER_FAILED';
    const result: LinesResult = { id: msg.id, fatal: { code, message: (e as Error).message } };
    parentPort!.postMessage(result);
    return;
  }
  const buffer = out.buffer as ArrayBuffer;
  // The input goes back with the result: the main thread reads a line again
  // only to resume (a transaction the output may already hold), then reuses it.
  const result: LinesResult = { id: msg.id, outcomes, out: buffer, outEnds: outEnds.buffer, data: msg.data };
  parentPort!.postMessage(result, [buffer, outEnds.buffer, msg.data]);
  out = new Uint8Array(0);
});
