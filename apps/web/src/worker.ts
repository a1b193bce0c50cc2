import { summarize, toOutcome } from '@erst/batch-verify/report';
import type { RecordOutcome } from '@erst/batch-verify/report';
import { Verifier } from '@erst/verify';
import type { ChunkMessage, InitMessage, ResultMessage } from './protocol.js';

/** The parts of a dedicated worker's global scope used here (the DOM typings describe a window). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<InitMessage | ChunkMessage>) => void) | null;
  postMessage(message: ResultMessage, transfer?: Transferable[]): void;
};

let verifier: Verifier | undefined;

/**
 * Verifies a chunk one record at a time and counts it exactly as erst-batch's
 * worker threads do (`toOutcome`, `summarize` of @erst/batch-verify), so that
 * the page's report is erst-batch's report.
 */
async function verifyChunk(v: Verifier, msg: ChunkMessage): Promise<ResultMessage> {
  const views: Uint8Array[] = [];
  let start = 0;
  for (const end of msg.ends) {
    views.push(new Uint8Array(msg.buffer, start, end - start));
    start = end;
  }
  // The whole chunk at once: WebCrypto answers each signature check later, from
  // another thread, so one record at a time would leave this worker idle
  // between them. The parsing and hashing still run one after the other.
  const results = await Promise.all(views.map((bytes) => v.verify(bytes)));
  const outcomes: RecordOutcome[] = results.map((r, i) => toOutcome(r, views[i]!, false));
  return { id: msg.id, summary: summarize(outcomes, false), buffer: msg.buffer };
}

scope.onmessage = (e) => {
  const msg = e.data;
  if ('verify' in msg) {
    verifier = new Verifier(msg.verify);
    return;
  }
  if (!verifier) return;
  verifyChunk(verifier, msg).then(
    (result) => scope.postMessage(result, 'buffer' in result ? [result.buffer] : []),
    (err: unknown) => scope.postMessage({ id: msg.id, fatal: err instanceof Error ? err.message : String(err) }),
  );
};
