import { createHash } from 'node:crypto';
import { Verifier } from '@erst/verify';
import { ChunkLogBuilder } from './log-chunk.js';
import { summarize, toOutcome, recordViews } from './outcome.js';
import type { ChunkMessage, ChunkSummary, RecordOutcome, StoredOutcome, WorkerConfig } from './protocol.js';

/**
 * Verifies a chunk of records into its summary. One class for both places a
 * chunk is verified (a verifier thread, worker.ts, and the calling thread
 * for a run too small to be worth starting threads, pool.ts's InlinePool),
 * so that both give the same summary for the same records.
 */
export class ChunkVerifier {
  readonly #config: WorkerConfig;
  readonly #verifier: Verifier;

  constructor(config: WorkerConfig) {
    this.#config = config;
    // node:crypto verifies on the calling thread: on a verifier thread, that
    // thread is the unit of parallelism, and libuv's thread pool stays free
    // for the readers' file I/O.
    // With a run's log, each record is still verified by its own proof, valid in its own checkpoint or not: whether
    // it is in this log at the index it names is the log check's (LogCheck, on the reading thread), which is why the
    // threads can start before the log is read.
    this.#verifier = new Verifier({ backend: 'node', ...config.verify });
  }

  /** The summary of a chunk's records (`msg.buffer` is only read). */
  async verify(msg: ChunkMessage): Promise<ChunkSummary> {
    const config = this.#config;
    const views = recordViews(msg.buffer, msg.ends);
    // One record at a time: only one record's parse tree and hash input are
    // alive at once, so garbage collection stays cheap.
    const outcomes: RecordOutcome[] = [];
    // What the log check needs of each result, taken as it comes: no result outlives its record.
    const log = config.log ? new ChunkLogBuilder() : undefined;
    for (let i = 0; i < views.length; i++) {
      const v = views[i]!;
      const hash = config.contentHash ? createHash('sha256').update(v).digest('hex') : null;
      const r = await this.#verifier.verify(v);
      const o = toOutcome(r, v, false);
      o.contentHash = hash;
      outcomes.push(o);
      log?.add(r, v);
    }
    const summary = summarize(outcomes, config.contentHash);
    if (log) summary.log = log.log;
    if (config.outcomes) summary.outcomes = outcomes.map((o, i) => storedOutcome(o, summary.log, i));
    return summary;
  }
}

/** What the state keeps of a record's result, as JSON text (made where the record is verified). */
function storedOutcome(o: RecordOutcome, log: ChunkSummary['log'], i: number): string {
  const { traceHash: _t, contentHash: _c, ...kept } = o;
  const stored: StoredOutcome = kept;
  if (log && log.note[i]! >= 0) {
    stored.proof = log.proof[i]!;
    stored.note = log.notes[log.note[i]!]!;
  }
  return JSON.stringify(stored);
}
