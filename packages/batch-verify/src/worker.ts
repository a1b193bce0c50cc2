import { parentPort, workerData } from 'node:worker_threads';
import { ChunkVerifier } from './chunk-verifier.js';
import { detachOnce } from './detach.js';
import type { ChunkMessage, ResultMessage, WorkerConfig } from './protocol.js';

// This thread hands every chunk's buffer back: see detachOnce.
detachOnce();
const verifier = new ChunkVerifier(workerData as WorkerConfig);
const port = parentPort!;

port.on('message', (msg: ChunkMessage) => {
  verifier.verify(msg).then(
    (summary) => port.postMessage({ id: msg.id, summary, buffer: msg.buffer } satisfies ResultMessage, [msg.buffer]),
    (e: unknown) =>
      port.postMessage({ id: msg.id, fatal: e instanceof Error ? e.message : String(e) } satisfies ResultMessage),
  );
});
