import { parentPort, workerData } from 'node:worker_threads';
import { Verifier, type VerifyResult } from '@erst/verify';
import { chunkLog } from './log-chunk.js';
import { summarize, toOutcome } from './outcome.js';
import type { ChunkMessage, ChunkSummary, RecordOutcome, ResultMessage, WorkerConfig } from './protocol.js';

const config = workerData as WorkerConfig;
// node:crypto verifies on this thread: this thread is the unit of
// parallelism, and libuv's thread pool stays free for the readers' file I/O.
const verifier = new Verifier({ backend: 'node', ...config.verify });
const port = parentPort!;

async function verifyChunk(msg: ChunkMessage): Promise<ChunkSummary> {
  const views: Uint8Array[] = [];
  let start = 0;
  for (const end of msg.ends) {
    views.push(new Uint8Array(msg.buffer, start, end - start));
    start = end;
  }
  // One record at a time: only one record's parse tree and hash input are
  // alive at once, so garbage collection stays cheap.
  const outcomes: RecordOutcome[] = [];
  const results: VerifyResult[] = [];
  for (const v of views) {
    const r = await verifier.verify(v);
    outcomes.push(toOutcome(r, v, config.contentHash));
    if (config.log) results.push(r);
  }
  const summary = summarize(outcomes, config.contentHash);
  if (config.log) summary.log = chunkLog(results, views);
  return summary;
}

port.on('message', (msg: ChunkMessage) => {
  verifyChunk(msg).then(
    (summary) => port.postMessage({ id: msg.id, summary, buffer: msg.buffer } satisfies ResultMessage, [msg.buffer]),
    (e: unknown) =>
      port.postMessage({ id: msg.id, fatal: e instanceof Error ? e.message : String(e) } satisfies ResultMessage),
  );
});
