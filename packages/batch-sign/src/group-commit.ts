import type { Signer } from '@erst/core';
import type { BatchRecord, RecordLayout, RecordSink } from './sink.js';

/** What a stage is told when the batch starts: the output it feeds and the key that signs. */
export interface StageContext {
  /** The output's path (`RecordSink.target`): a stage keeps its own files beside it. */
  readonly target: string;
  readonly signer: Signer;
  /** The output's `RecordSink.recordLayout`: the layout of each `BatchRecord.encoded` the stage is given. */
  readonly recordLayout?: RecordLayout | undefined;
}

/**
 * Records a stage lets go: an array, or batches one after another (a log
 * releasing a whole checkpoint's records reads them back in bounded pieces).
 * Each batch is written before the next is asked for, so a stage may reuse a
 * batch's memory for the next one.
 */
export type Released = readonly BatchRecord[] | AsyncIterable<readonly BatchRecord[]>;

/**
 * A stage between signing and the output that may hold signed records until
 * a commit step of its own has finished. Issue #11 puts a Merkle log here:
 * append each record's entry, sign one checkpoint per N records, then
 * release those records rewritten with their inclusion proofs.
 */
export interface GroupStage {
  /**
   * Called once, after the output is opened and before anything is signed:
   * returns records an interrupted run left with the stage, finished now, to
   * be written first (those the output already holds are skipped), and whose
   * input lines then count as already signed.
   */
  open?(context: StageContext): Promise<readonly BatchRecord[]>;
  /**
   * Takes a group of signed records (in the order they were signed) and
   * returns the records that may be written now: all of them, some held
   * earlier, or none yet. Throwing stops the batch, as an output failure does.
   */
  accept(group: readonly BatchRecord[]): Promise<Released>;
  /** Called once, when no record will come any more (input ended or the batch was stopped): the records still held. */
  flush(): Promise<Released>;
  /** Called once the output is closed after a batch that did not fail: everything released is durable. */
  close?(): Promise<void>;
  /** Called instead of `close` when the batch failed: what the stage holds is left for a rerun to finish. */
  abandon?(): Promise<void>;
}

interface Queued {
  records: readonly BatchRecord[];
  resolve: () => void;
  reject: (e: unknown) => void;
}

/**
 * Group commit: records that are signed while a group is being written go
 * out together as the next group (one stage step, one write, one commit), so
 * many signatures in flight cost one fsync per group, not per record.
 * Groups never overlap, and they keep the order their records were signed in.
 */
export class GroupCommitter {
  readonly #sink: RecordSink;
  readonly #stage: GroupStage | undefined;
  readonly #onWritten: (count: number) => void;
  #queue: Queued[] = [];
  #writing = false;

  constructor(sink: RecordSink, stage: GroupStage | undefined, onWritten: (count: number) => void) {
    this.#sink = sink;
    this.#stage = stage;
    this.#onWritten = onWritten;
  }

  /** Resolves once the record's group has passed the stage and what it released is committed; rejects if that failed. */
  add(record: BatchRecord): Promise<void> {
    return this.addAll([record]);
  }

  /** `add` for records that come together (a signing thread's block, in order): one promise for all. */
  addAll(records: readonly BatchRecord[]): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ records, resolve, reject });
      if (!this.#writing) void this.#pump();
    });
  }

  /** After the last `add` has settled: writes what the stage still holds. */
  async finish(): Promise<void> {
    if (this.#stage) await this.#persist(await this.#stage.flush());
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const group = this.#queue;
      this.#queue = [];
      try {
        const records = group.length === 1 ? group[0]!.records : group.flatMap((q) => q.records);
        await this.#persist(this.#stage ? await this.#stage.accept(records) : records);
        for (const q of group) q.resolve();
      } catch (e) {
        for (const q of group) q.reject(e);
      }
    }
    this.#writing = false;
  }

  /** Writes and commits records that do not pass the stage (those it finished from an earlier run). */
  async persistDirect(records: readonly BatchRecord[]): Promise<void> {
    if (records.length === 0) return;
    await this.#sink.write(records);
    await this.#sink.commit();
  }

  /** Writes what was released (batch by batch, each before the next is made) and commits it once. */
  async #persist(released: Released): Promise<void> {
    let count = 0;
    if (isBatches(released)) {
      for await (const records of released) {
        if (records.length === 0) continue;
        await this.#sink.write(records);
        count += records.length;
      }
    } else if (released.length > 0) {
      await this.#sink.write(released);
      count = released.length;
    }
    if (count === 0) return;
    await this.#sink.commit();
    this.#onWritten(count);
  }
}

function isBatches(released: Released): released is AsyncIterable<readonly BatchRecord[]> {
  return !Array.isArray(released);
}
