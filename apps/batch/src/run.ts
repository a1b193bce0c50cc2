import { DEFAULT_MAX_INPUT_BYTES, type Signer } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import { checkInputs, readInputs } from './inputs.js';
import { WorkerPool } from './pool.js';
import type { RecordOutcome } from './protocol.js';
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

/** Records per chunk sent to a worker, and the most bytes per chunk. */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 4 * 1024 * 1024;

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
  const onResult = (id: number, outcomes: RecordOutcome[]): void => {
    const chunk = pending.get(id)!;
    pending.delete(id);
    for (let i = 0; i < outcomes.length; i++) {
      const o = outcomes[i]!;
      const source = chunk.sources[i]!;
      builder.record(source, chunk.inputs[i]!, o);
      state?.observe(source, o.traceHash, o.contentHash);
    }
  };
  const pool = new WorkerPool(Math.max(1, opts.workers), { verify: opts.verify, contentHash: state !== undefined }, onResult);

  let completed = false;
  try {
    let nextId = 0;
    let records: Uint8Array[] = [];
    let meta: PendingChunk = { sources: [], inputs: [] };
    let bytes = 0;
    const flush = async (): Promise<void> => {
      if (records.length === 0) return;
      const buffer = new ArrayBuffer(bytes);
      const view = new Uint8Array(buffer);
      const ends = new Uint32Array(records.length);
      let off = 0;
      records.forEach((r, i) => {
        view.set(r, off);
        off += r.length;
        ends[i] = off;
      });
      const id = nextId++;
      pending.set(id, meta);
      records = [];
      meta = { sources: [], inputs: [] };
      bytes = 0;
      await pool.submit({ id, buffer, ends });
    };

    const accept = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
    for await (const item of readInputs(opts.inputs, { maxBytes, accept })) {
      if (item.kind === 'failure') {
        builder.unreadable(item.source, item.input, item.code, item.message, item.scope);
        if (item.scope === 'record') state?.observe(item.source, null, null);
        continue;
      }
      if (bytes + item.bytes.length > CHUNK_BYTES) await flush();
      records.push(item.bytes);
      meta.sources.push(item.source);
      meta.inputs.push(item.input);
      bytes += item.bytes.length;
      if (records.length >= CHUNK_RECORDS) await flush();
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
