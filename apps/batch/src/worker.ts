import { parentPort, workerData } from 'node:worker_threads';
import { Verifier } from '@erst/verify';
import { toOutcome } from './outcome.js';
import type { ChunkMessage, RecordOutcome, ResultMessage, WorkerConfig } from './protocol.js';

const config = workerData as WorkerConfig;
const verifier = new Verifier(config.verify);
const port = parentPort!;

async function verifyChunk(msg: ChunkMessage): Promise<RecordOutcome[]> {
  const views: Uint8Array[] = [];
  let start = 0;
  for (const end of msg.ends) {
    views.push(new Uint8Array(msg.buffer, start, end - start));
    start = end;
  }
  // Every record of the chunk at once: parsing and hashing run on this
  // thread while earlier signature checks run in WebCrypto's thread pool.
  const results = await Promise.all(views.map((v) => verifier.verify(v)));
  return results.map((r, i) => toOutcome(r, views[i]!, config.contentHash));
}

// Chunks are handled as they arrive, not one after another, so the next
// chunk's parsing overlaps this one's signature checks.
port.on('message', (msg: ChunkMessage) => {
  verifyChunk(msg).then(
    (outcomes) => port.postMessage({ id: msg.id, outcomes } satisfies ResultMessage),
    (e: unknown) => port.postMessage({ id: msg.id, fatal: e instanceof Error ? e.message : String(e) } satisfies ResultMessage),
  );
});
