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
  state?: { path: string; key?: Signer; init: boolean };
}

/** Records per chunk sent to a worker, and the size of a chunk's buffer. */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;

interface PendingChunk {
  sources: string[];
  inputs: number[];
}

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
  // Chunk buffers travel to a worker and back, and are filled again: a fixed
  // set of them (about three per worker) carries the whole archive.
  const spare: ArrayBuffer[] = [];
  const onResult = (id: number, summary: ChunkSummary, buffer: ArrayBuffer): void => {
    if (buffer.byteLength === CHUNK_BYTES) spare.push(buffer);
    const chunk = pending.get(id)!;
    pending.delete(id);
    builder.addChunk(chunk.sources, chunk.inputs, summary);
    if (state) {
      for (let i = 0; i < chunk.sources.length; i++) {
        state.observe(chunk.sources[i]!, summary.traceHashes![i] || null, summary.contentHashes![i] || null);
      }
    }
  };
  const pool = new WorkerPool(Math.max(1, opts.workers), { verify: opts.verify, contentHash: state !== undefined }, onResult);

  let completed = false;
  try {
    let nextId = 0;
    let buffer: ArrayBuffer | undefined;
    let view = new Uint8Array(0);
    let ends: number[] = [];
    let meta: PendingChunk = { sources: [], inputs: [] };
    let used = 0;
    const flush = async (): Promise<void> => {
      if (ends.length === 0 || !buffer) return;
      const id = nextId++;
      pending.set(id, meta);
      const chunk = { id, buffer, ends: Uint32Array.from(ends) };
      buffer = undefined;
      ends = [];
      meta = { sources: [], inputs: [] };
      used = 0;
      await pool.submit(chunk);
    };
    /** Copies a record into the chunk being filled (the reader may reuse its bytes afterwards). */
    const add = async (source: string, input: number, bytes: Uint8Array): Promise<void> => {
      if (buffer && used + bytes.length > buffer.byteLength) await flush();
      if (!buffer) {
        // A record larger than a chunk travels alone, in a buffer of its own.
        buffer = bytes.length > CHUNK_BYTES ? new ArrayBuffer(bytes.length) : (spare.pop() ?? new ArrayBuffer(CHUNK_BYTES));
        view = new Uint8Array(buffer);
      }
      view.set(bytes, used);
      used += bytes.length;
      ends.push(used);
      meta.sources.push(source);
      meta.inputs.push(input);
      if (ends.length >= CHUNK_RECORDS) await flush();
    };

    const accept = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
    for await (const item of readInputs(opts.inputs, { maxBytes, accept })) {
      if (item.kind === 'failure') {
        builder.unreadable(item.source, item.input, item.code, item.message, item.scope);
        if (item.scope === 'record') state?.observe(item.source, null, null);
        continue;
      }
      await add(item.source, item.input, item.bytes);
    }
    await flush();
    await pool.drain();
    completed = true;
  } finally {
    await pool.close();
    if (!completed) {
      // An error escaped: leave the previous state as it was.
      await state?.finish(false).catch(() => {});
    }
  }

  if (!state) return builder.build();

  const diff = state.diff();
  if (state.status === 'tampered') {
    builder.stateFailure(state.path, 'ERR_STATE_TAMPERED', `${state.tamperReason}; it was not used and not replaced`);
  }
  for (const source of diff.missing) {
    builder.stateFailure(source, 'ERR_STATE_MISSING', 'seen by the previous run, gone now: the log was deleted or moved');
  }
  for (const c of diff.changed) builder.stateFailure(c.source, 'ERR_STATE_CHANGED', `changed since the previous run: ${c.message}`);
  // A run that could not read some input would record everything in it as
  // gone; keep the last complete state instead.
  const complete = builder.totals.unreadable === 0;
  const written = await state.finish(complete && state.status !== 'tampered');
  return builder.build({
    summary: {
      files: [state.path],
      status: state.status,
      previous_records: state.previousRecords,
      records: state.records,
      signature_checked: state.signatureChecked,
      written,
    },
    missing: diff.missing,
    changed: diff.changed.map((c) => c.source),
    added: diff.added,
  });
}
