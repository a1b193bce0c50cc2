// A signing thread of `signBatch`'s `threads`: turns each block of input
// lines it is sent into their output lines (see BlockSigner), so that the
// main thread only reads, orders and writes.
import { parentPort, workerData } from 'node:worker_threads';
import { isErstError } from '@erst/core';
import { BlockSigner } from './sign-lines.js';
import type { LinesMessage, LinesResult, ThreadConfig } from './thread-protocol.js';

const signer = new BlockSigner(workerData as ThreadConfig);

parentPort!.on('message', async (msg: LinesMessage) => {
  if ('recycle' in msg) {
    signer.recycle(msg.recycle);
    return;
  }
  let result: LinesResult;
  try {
    result = { id: msg.id, ...(await signer.sign(msg.data, msg.length)) };
  } catch (e) {
    const code = isErstError(e) ? e.code : 'ERR_SIGNER_FAILED';
    parentPort!.postMessage({ id: msg.id, fatal: { code, message: (e as Error).message } } satisfies LinesResult);
    return;
  }
  // The input goes back with the result: the main thread reads a line again
  // only to resume (a transaction the output may already hold), then reuses it.
  parentPort!.postMessage(result, [result.out, result.data, result.table.buffer, result.kinds.buffer] as ArrayBuffer[]);
});
