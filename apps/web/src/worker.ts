import { recordViews, summarize, toOutcome } from '@erst/batch-verify/report';
import type { RecordOutcome } from '@erst/batch-verify/report';
import { Verifier } from '@erst/verify';
import type { BufferReturn, ChunkMessage, StopKeeping, VerifierInit, VerifierResult } from './protocol.js';

/** The parts of a dedicated worker's global scope used here (the DOM typings describe a window). */
const scope = self as unknown as {
  onmessage: ((e: MessageEvent<VerifierInit | StopKeeping>) => void) | null;
  postMessage(message: VerifierResult, transfer?: Transferable[]): void;
};

/** Records of a chunk verified at once: WebCrypto answers each digest and signature later, from another thread. */
const CONCURRENT = 16;

let keep = true;

/**
 * Verifies a chunk and counts it exactly as erst-batch's worker threads do
 * (`toOutcome`, `summarize` of @erst/batch-verify), so that the page's report
 * is erst-batch's report. Records go in groups: one at a time would leave
 * this thread idle while WebCrypto answers; more at once only keeps more
 * parse trees alive.
 */
async function verifyChunk(v: Verifier, msg: ChunkMessage): Promise<VerifierResult> {
  const views = recordViews(msg.buffer, msg.ends);
  const outcomes: RecordOutcome[] = [];
  for (let i = 0; i < views.length; i += CONCURRENT) {
    const group = views.slice(i, i + CONCURRENT);
    const results = await Promise.all(group.map((bytes) => v.verify(bytes)));
    for (let j = 0; j < results.length; j++) outcomes.push(toOutcome(results[j]!, group[j]!, false));
  }
  const summary = summarize(outcomes, false);
  // Copies: the chunk's buffer goes back to the reader.
  const kept = keep ? summary.failures.map((f) => views[f.index]!.slice().buffer) : [];
  return { id: msg.id, sources: msg.sources, inputs: msg.inputs, summary, kept };
}

function start(init: VerifierInit): void {
  const verifier = new Verifier(init.verify);
  const port = init.port;
  port.onmessage = (e: MessageEvent<ChunkMessage>) => {
    const msg = e.data;
    verifyChunk(verifier, msg).then(
      (result) => {
        port.postMessage({ buffer: msg.buffer } satisfies BufferReturn, [msg.buffer]);
        scope.postMessage(result, 'kept' in result ? result.kept : []);
      },
      (err: unknown) => scope.postMessage({ fatal: err instanceof Error ? err.message : String(err) }),
    );
  };
}

scope.onmessage = (e) => {
  if ('keep' in e.data) keep = false;
  else start(e.data);
};
