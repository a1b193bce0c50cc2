import { DEFAULT_MAX_INPUT_BYTES, type Signer } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import { checkInputs, readInputs } from './inputs.js';
import { WorkerPool } from './pool.js';
import type { ChunkSummary } from './protocol.js';
import { type Report, ReportBuilder, trustSummary } from './report.js';
import { type Shard, formatShard, shardOf } from './shard.js';
import { StateTracker } from './state.js';

export interface VerifyRunOptions {
  inputs: string[];
  verify: VerifyOptions;
  workers: number;
  shard?: Shard | null;
  maxBytes?: number;
  state?: { path: string; key?: Signer; init: boolean; expect?: string };
  /** Accept a run that finds no record at all (otherwise each empty input is ERR_ARCHIVE_EMPTY, exit 2). */
  allowEmpty?: boolean;
}

/** Records per chunk sent to a worker, and the size of a chunk's buffer. */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;

interface PendingChunk {
  sources: string[];
  inputs: number[];
  /** Records that could not be read while this chunk was being filled: the state sees them after the chunk's records. */
  unread: string[];
}

/** What the state sees, in reading order: a chunk (once verified) or a record that could not be read. */
type StateStep = { chunk: number; unread: string[] } | { unread: string[] };

/**
 * Verifies every record of every input on `workers` threads and returns the
 * report. Reading is a stream: the readers wait whenever every worker has
 * its share of chunks, so memory stays flat however large the archive.
 */
export async function runVerify(opts: VerifyRunOptions): Promise<Report> {
  await checkInputs(opts.inputs);
  const shard = opts.shard ?? null;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const builder = new ReportBuilder(opts.inputs, shard, trustSummary(opts.verify));
  const state = opts.state
    ? await StateTracker.open({ ...opts.state, shard: shard ? formatShard(shard) : null })
    : undefined;

  const pending = new Map<number, PendingChunk>();
  // Chunks come back in any order; the state file is written in reading
  // order, so that the same archive gives the same state (and digest)
  // whatever the worker count.
  const steps: StateStep[] = [];
  let step = 0;
  const verified = new Map<number, { sources: string[]; summary: ChunkSummary }>();
  const observeInOrder = (): void => {
    if (!state) return;
    for (; step < steps.length; step++) {
      const s = steps[step]!;
      if ('chunk' in s) {
        const done = verified.get(s.chunk);
        if (!done) break;
        verified.delete(s.chunk);
        for (let i = 0; i < done.sources.length; i++) {
          state.observe(done.sources[i]!, done.summary.traceHashes![i] || null, done.summary.contentHashes![i] || null);
        }
      }
      for (const source of s.unread) state.observe(source, null, null);
    }
    if (step > 1024) {
      steps.splice(0, step);
      step = 0;
    }
  };
  // Chunk buffers travel to a worker and back, and are filled again: a fixed
  // set of them (about three per worker) carries the whole archive.
  const spare: ArrayBuffer[] = [];
  const onResult = (id: number, summary: ChunkSummary, buffer: ArrayBuffer): void => {
    if (buffer.byteLength === CHUNK_BYTES) spare.push(buffer);
    const chunk = pending.get(id)!;
    pending.delete(id);
    builder.addChunk(chunk.sources, chunk.inputs, summary);
    if (state) {
      verified.set(id, { sources: chunk.sources, summary });
      observeInOrder();
    }
  };
  const pool = new WorkerPool(
    Math.max(1, opts.workers),
    { verify: opts.verify, contentHash: state !== undefined },
    onResult,
  );

  const empty: number[] = [];
  let completed = false;
  try {
    let nextId = 0;
    let buffer: ArrayBuffer | undefined;
    let view = new Uint8Array(0);
    let ends: number[] = [];
    let meta: PendingChunk = { sources: [], inputs: [], unread: [] };
    let used = 0;
    const flush = async (): Promise<void> => {
      if (ends.length === 0 || !buffer) return;
      const id = nextId++;
      pending.set(id, meta);
      if (state) steps.push({ chunk: id, unread: meta.unread });
      const chunk = { id, buffer, ends: Uint32Array.from(ends) };
      buffer = undefined;
      ends = [];
      meta = { sources: [], inputs: [], unread: [] };
      used = 0;
      await pool.submit(chunk);
    };
    /** Copies a record into the chunk being filled (the reader may reuse its bytes afterwards). */
    const add = async (source: string, input: number, bytes: Uint8Array): Promise<void> => {
      if (buffer && used + bytes.length > buffer.byteLength) await flush();
      if (!buffer) {
        // A record larger than a chunk travels alone, in a buffer of its own.
        buffer =
          bytes.length > CHUNK_BYTES ? new ArrayBuffer(bytes.length) : (spare.pop() ?? new ArrayBuffer(CHUNK_BYTES));
        view = new Uint8Array(buffer);
      }
      view.set(bytes, used);
      used += bytes.length;
      ends.push(used);
      meta.sources.push(source);
      meta.inputs.push(input);
      if (ends.length >= CHUNK_RECORDS) await flush();
    };

    const owns = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
    // Inputs are read one by one to count the records each holds, whichever shard owns them.
    for (let i = 0; i < opts.inputs.length; i++) {
      let offered = 0;
      const accept = (source: string): boolean => {
        offered++;
        return owns(source);
      };
      let reported = false;
      for await (const item of readInputs([opts.inputs[i]!], { maxBytes, accept })) {
        reported = true;
        if (item.kind === 'failure') {
          builder.unreadable(item.source, i, item.code, item.message, item.scope);
          if (item.scope === 'record' && state) {
            if (ends.length > 0) meta.unread.push(item.source);
            else steps.push({ unread: [item.source] });
          }
          continue;
        }
        await add(item.source, i, item.bytes);
      }
      if (offered === 0 && !reported && !opts.allowEmpty) empty.push(i);
    }
    await flush();
    await pool.drain();
    observeInOrder();
    completed = true;
  } finally {
    await pool.close();
    if (!completed) {
      // An error escaped: leave the previous state as it was.
      await state?.finish(false).catch(() => {});
    }
  }

  // An unmounted directory or an empty archive must not pass as "nothing
  // failed". Every shard sees it (a shard that owns none of an input's
  // records is not empty), and merge counts it once.
  for (const i of empty) {
    builder.unreadable(
      opts.inputs[i]!,
      i,
      'ERR_ARCHIVE_EMPTY',
      'holds no record (pass --allow-empty if that is expected)',
      'unreadable',
    );
  }
  if (!state) return builder.build();

  const diff = state.diff();
  if (state.status === 'tampered') {
    builder.stateFailure(state.path, state.tamperCode, `${state.tamperReason}; it was not used and not replaced`);
  }
  for (const source of diff.missing) {
    builder.stateFailure(
      source,
      'ERR_STATE_MISSING',
      'seen by the previous run, gone now: the log was deleted or moved',
    );
  }
  for (const c of diff.changed)
    builder.stateFailure(c.source, 'ERR_STATE_CHANGED', `changed since the previous run: ${c.message}`);
  // A run that could not read some input would record everything in it as
  // gone; keep the last complete state instead.
  const complete = builder.totals.unreadable === 0;
  const written = await state.finish(complete && state.status !== 'tampered');
  // The state in place now: the new one, or the previous one a run that saw less left alone.
  const current = state.written ?? state.previous;
  return builder.build({
    summary: {
      files: [state.path],
      status: state.status,
      previous_records: state.previousRecords,
      records: state.records,
      signature_checked: state.signatureChecked,
      written,
      digests: current
        ? [{ file: state.path, sequence: current.sequence, digest: current.digest, previous_digest: current.previous }]
        : [],
    },
    missing: diff.missing,
    changed: diff.changed.map((c) => c.source),
    added: diff.added,
  });
}
