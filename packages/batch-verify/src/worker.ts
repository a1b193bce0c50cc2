import { createHash } from 'node:crypto';
import { parentPort, workerData } from 'node:worker_threads';
import { Verifier, type VerifyResult } from '@erst/verify';
import { chunkLog } from './log-chunk.js';
import { summarize, toOutcome } from './outcome.js';
import type {
  ChunkMessage,
  ChunkSummary,
  RecordOutcome,
  ResultMessage,
  StoredOutcome,
  WorkerConfig,
} from './protocol.js';

const config = workerData as WorkerConfig;
// node:crypto verifies on this thread: this thread is the unit of
// parallelism, and libuv's thread pool stays free for the readers' file I/O.
const plain = new Verifier({ backend: 'node', ...config.verify });
const verifiedLogs = config.verifiedLog ? [...(config.verify.verifiedLogs ?? []), config.verifiedLog] : undefined;
const fast = verifiedLogs ? new Verifier({ backend: 'node', ...config.verify, verifiedLogs }) : plain;
const port = parentPort!;

/**
 * With the run's log: the lookup decides inclusion. A record it finds not
 * at its index in this log (one logged in another history, say) is verified
 * again by its own proof, so that its result is what it was without the
 * lookup: valid in its own checkpoint, and reported by the log check as not
 * in this log (ERR_LOG_RECORD_NOT_IN_LOG, ERR_LOG_CHECKPOINT_MISMATCH).
 */
async function verifyRecord(bytes: Uint8Array): Promise<VerifyResult> {
  const r = await fast.verify(bytes);
  if (fast === plain || !r.errors.some((e) => e.code === 'ERR_TLOG_INCLUSION_INVALID')) return r;
  return plain.verify(bytes);
}

async function verifyChunk(msg: ChunkMessage): Promise<ChunkSummary> {
  const views: Uint8Array[] = [];
  let start = 0;
  for (const end of msg.ends) {
    views.push(new Uint8Array(msg.buffer, start, end - start));
    start = end;
  }
  const reused = msg.reuse ? new Uint8Array(views.length) : undefined;
  // One record at a time: only one record's parse tree and hash input are
  // alive at once, so garbage collection stays cheap.
  const outcomes: RecordOutcome[] = [];
  const results: VerifyResult[] = [];
  const verified: Uint8Array[] = [];
  for (let i = 0; i < views.length; i++) {
    const v = views[i]!;
    const hash = config.contentHash ? createHash('sha256').update(v).digest('hex') : null;
    // The bytes the previous run verified, under the same trust configuration: its result stands.
    if (reused && hash !== null && msg.reuse![i] === hash) {
      reused[i] = 1;
      continue;
    }
    const r = await verifyRecord(v);
    const o = toOutcome(r, v, false);
    o.contentHash = hash;
    outcomes.push(o);
    verified.push(v);
    if (config.log) results.push(r);
  }
  const summary = summarize(outcomes, config.contentHash);
  if (reused) summary.reused = reused;
  if (config.log) summary.log = chunkLog(results, verified);
  if (config.outcomes) summary.outcomes = outcomes.map((o, i) => storedOutcome(o, summary.log, i));
  return summary;
}

/** What the state keeps of a record's result, as JSON text (made here, on the verifier threads). */
function storedOutcome(o: RecordOutcome, log: ChunkSummary['log'], i: number): string {
  const { traceHash: _t, contentHash: _c, ...kept } = o;
  const stored: StoredOutcome = kept;
  if (log && log.note[i]! >= 0) {
    stored.proof = log.proof[i]!;
    stored.note = log.notes[log.note[i]!]!;
  }
  return JSON.stringify(stored);
}

port.on('message', (msg: ChunkMessage) => {
  verifyChunk(msg).then(
    (summary) => port.postMessage({ id: msg.id, summary, buffer: msg.buffer } satisfies ResultMessage, [msg.buffer]),
    (e: unknown) =>
      port.postMessage({ id: msg.id, fatal: e instanceof Error ? e.message : String(e) } satisfies ResultMessage),
  );
});
