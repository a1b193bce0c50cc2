import { DEFAULT_MAX_INPUT_BYTES, ErstError, type Signer } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import { checkInputs, readInputs } from '@erst/archive/node';
import { WorkerPool } from './pool.js';
import type { ChunkSummary } from './protocol.js';
import { type Report, ReportBuilder, type StateSummary, trustSummary } from './report.js';
import { type Shard, checkShard, formatShard, shardOf } from './shard.js';
import { LogCheck } from './log.js';
import { type StateLog, StateTracker, isStateDigest } from './state.js';

/** Where the state of the previous run is kept, and how it is checked. */
export interface StateFileOptions {
  /** The state file: read (when present), compared against, then replaced by this run's state. */
  path: string;
  /** Signs the new state and checks the previous one (an Ed25519 signer, for example `InMemorySigner`). */
  key?: Signer;
  /** With `key`: a first run, so a missing state file is a baseline rather than a deleted one. */
  init?: boolean;
  /** The digest (64 lowercase hex) the previous run reported, kept outside the archive: any other state is a rollback. */
  expect?: string;
}

export interface VerifyRunOptions {
  /** Directories, `.json`, `.jsonl`, `.tar`, `.tar.gz` or `.tgz` files. */
  inputs: string[];
  /** Trust material for `@erst/verify`: pinned keys, trust policies, attestation roots. */
  verify: VerifyOptions;
  /** Verifier threads, 1 to 1024. */
  workers: number;
  /** Verify only this shard's records (split by a hash of each record's source name). */
  shard?: Shard | null;
  /** Largest record accepted, in bytes (default `DEFAULT_MAX_INPUT_BYTES` of `@erst/core`). */
  maxBytes?: number;
  /** Compare with the previous run's state file, and replace it with this run's. */
  state?: StateFileOptions;
  /**
   * A verifiable log (directory or http(s) URL) the archive must match, both
   * ways, checked under `verify.logKeys`: read and verified once, every
   * logged record at the index its proof names, every entry with a record.
   */
  log?: string;
  /** Accept a run that finds no record at all (otherwise each empty input is ERR_ARCHIVE_EMPTY, exit 2). */
  allowEmpty?: boolean;
}

/** The most verifier threads a run starts: more is a mistake, not a machine. */
export const MAX_WORKERS = 1024;

/** Records per chunk sent to a worker, and the size of a chunk's buffer. */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;

/**
 * Verifies every record of every input on `workers` threads and returns the
 * report. Reading is a stream: the readers wait whenever every worker has
 * its share of chunks, so memory stays flat however large the archive.
 *
 * Throws ERR_OPTIONS_INVALID for a bad option (naming it in backticks and in
 * `details.options`), the `@erst/node-io` file codes for an input or state
 * file that cannot be opened, ERR_OUTPUT_WRITE when the new state cannot be
 * written. Everything found in the archive (bad records, unreadable members,
 * missing or changed records, a tampered state) is in the report instead.
 */
export async function runVerify(opts: VerifyRunOptions): Promise<Report> {
  checkRunOptions(opts);
  // A path that does not exist fails the run before a thread starts or a state file is touched.
  await checkInputs(opts.inputs);
  const shard = opts.shard ?? null;
  const builder = new ReportBuilder(opts.inputs, shard, trustSummary(opts.verify));
  // Read before the state opens: the new state records the checkpoint it verified.
  const log = opts.log !== undefined ? await LogCheck.open(opts.log, opts.verify.logKeys ?? []) : undefined;
  const state = opts.state ? await openState(opts.state, shard, log?.stateLog) : undefined;
  const order = new ReadingOrder(state, log);
  let empty: number[] = [];
  let completed = false;
  const pool = new WorkerPool(
    opts.workers,
    { verify: opts.verify, contentHash: state !== undefined, log: log !== undefined },
    (id, s, buf) => order.verified(id, s, buf, builder),
  );
  try {
    empty = await readAndDispatch(opts, builder, pool, order);
    await pool.drain();
    order.observe();
    completed = true;
  } finally {
    await pool.close();
    // An error escaped: leave the previous state as it was.
    if (!completed) await state?.finish(false).catch(() => {});
  }
  reportEmptyInputs(builder, opts.inputs, empty);
  // The log's findings first: a log that is not consistent with the state's checkpoint keeps that state in place.
  const logSummary = log?.finish(builder, state?.previousLog);
  const stateResult = state ? await finishState(state, builder, logSummary?.consistent !== false) : undefined;
  return builder.build(stateResult, logSummary);
}

/** Bad options are refused before anything is read, each named as the caller spelled it. */
function checkRunOptions(opts: VerifyRunOptions): void {
  if (!Array.isArray(opts.inputs) || !opts.inputs.every((i) => typeof i === 'string' && i !== '')) {
    throw optionError('inputs', 'must be a list of paths');
  }
  if (!Number.isInteger(opts.workers) || opts.workers < 1 || opts.workers > MAX_WORKERS) {
    throw optionError('workers', `must be a whole number from 1 to ${MAX_WORKERS}`);
  }
  if (opts.maxBytes !== undefined && (!Number.isSafeInteger(opts.maxBytes) || opts.maxBytes < 1)) {
    throw optionError('maxBytes', 'must be a positive whole number');
  }
  if (opts.shard) checkShard(opts.shard);
  if (opts.log !== undefined && (typeof opts.log !== 'string' || opts.log === '')) {
    throw optionError('log', 'must be a directory or an http(s) URL');
  }
  // Completeness is a whole-archive property: a shard sees only its part of the records.
  if (opts.log !== undefined && opts.shard) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      '`log` and `shard` do not go together: a log is checked by one whole run',
      {
        details: { options: ['log', 'shard'] },
      },
    );
  }
  if (opts.state?.expect !== undefined && !isStateDigest(opts.state.expect)) {
    throw optionError('state.expect', 'must be the 64 lowercase hex digest a previous run reported');
  }
}

/** ERR_OPTIONS_INVALID naming `option` as the API spells it, so that a command line can name its own flag. */
function optionError(option: string, why: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', `\`${option}\` ${why}`, { details: { options: [option] } });
}

/** Reads the previous state (it may turn out tampered: that is a finding, not an error) and starts the new one. */
function openState(state: StateFileOptions, shard: Shard | null, log: StateLog | undefined): Promise<StateTracker> {
  return StateTracker.open({
    ...(log ? { log } : {}),
    path: state.path,
    init: state.init ?? false,
    shard: shard ? formatShard(shard) : null,
    ...(state.key ? { key: state.key } : {}),
    ...(state.expect !== undefined ? { expect: state.expect } : {}),
  });
}

/** What the state sees, in reading order: a chunk (once verified) or a record that could not be read. */
type StateStep = { chunk: number; unread: string[] } | { unread: string[] };

/**
 * Chunks come back from the workers in any order; the state file is written
 * in reading order, so that the same archive gives the same state (and
 * digest) whatever the worker count. Without a state, it only recycles buffers.
 */
class ReadingOrder {
  readonly #state: StateTracker | undefined;
  readonly #log: LogCheck | undefined;
  readonly #steps: StateStep[] = [];
  #step = 0;
  readonly #verified = new Map<number, { sources: string[]; summary: ChunkSummary }>();
  readonly #pending = new Map<number, PendingChunk>();
  /** Chunk buffers travel to a worker and back, and are filled again: a fixed set of them carries the whole archive. */
  readonly spare: ArrayBuffer[] = [];

  constructor(state: StateTracker | undefined, log: LogCheck | undefined) {
    this.#state = state;
    this.#log = log;
  }

  /** A chunk leaves for a worker. */
  sent(id: number, chunk: PendingChunk): void {
    this.#pending.set(id, chunk);
    if (this.#state) this.#steps.push({ chunk: id, unread: chunk.unread });
  }

  /** A record that could not be read between chunks (one read while a chunk fills travels with that chunk). */
  unread(source: string): void {
    if (this.#state) this.#steps.push({ unread: [source] });
  }

  /** A worker's result: counted at once, shown to the state once every chunk read before it is. */
  verified(id: number, summary: ChunkSummary, buffer: ArrayBuffer, builder: ReportBuilder): void {
    if (buffer.byteLength === CHUNK_BYTES) this.spare.push(buffer);
    const chunk = this.#pending.get(id)!;
    this.#pending.delete(id);
    builder.addChunk(chunk.sources, chunk.inputs, summary);
    if (this.#log && summary.log) this.#log.observe(chunk.sources, chunk.inputs, summary.log);
    if (!this.#state) return;
    this.#verified.set(id, { sources: chunk.sources, summary });
    this.observe();
  }

  /** Shows the state every step whose turn has come. */
  observe(): void {
    const state = this.#state;
    if (!state) return;
    for (; this.#step < this.#steps.length; this.#step++) {
      const s = this.#steps[this.#step]!;
      if ('chunk' in s) {
        const done = this.#verified.get(s.chunk);
        if (!done) break;
        this.#verified.delete(s.chunk);
        const { traceHashes, contentHashes } = done.summary;
        for (let i = 0; i < done.sources.length; i++) {
          state.observe(done.sources[i]!, traceHashes![i] || null, contentHashes![i] || null);
        }
      }
      for (const source of s.unread) state.observe(source, null, null);
    }
    if (this.#step > 1024) {
      this.#steps.splice(0, this.#step);
      this.#step = 0;
    }
  }
}

interface PendingChunk {
  sources: string[];
  inputs: number[];
  /** Records that could not be read while this chunk was being filled: the state sees them after the chunk's records. */
  unread: string[];
}

/** Packs records into transferable chunk buffers and hands each full chunk to the pool. */
class ChunkPacker {
  readonly #pool: WorkerPool;
  readonly #order: ReadingOrder;
  #nextId = 0;
  #buffer: ArrayBuffer | undefined;
  #view = new Uint8Array(0);
  #ends: number[] = [];
  #meta: PendingChunk = { sources: [], inputs: [], unread: [] };
  #used = 0;

  constructor(pool: WorkerPool, order: ReadingOrder) {
    this.#pool = pool;
    this.#order = order;
  }

  /** Copies a record into the chunk being filled (the reader may reuse its bytes afterwards). */
  async add(source: string, input: number, bytes: Uint8Array): Promise<void> {
    if (this.#buffer && this.#used + bytes.length > this.#buffer.byteLength) await this.flush();
    if (!this.#buffer) {
      // A record larger than a chunk travels alone, in a buffer of its own.
      this.#buffer =
        bytes.length > CHUNK_BYTES
          ? new ArrayBuffer(bytes.length)
          : (this.#order.spare.pop() ?? new ArrayBuffer(CHUNK_BYTES));
      this.#view = new Uint8Array(this.#buffer);
    }
    this.#view.set(bytes, this.#used);
    this.#used += bytes.length;
    this.#ends.push(this.#used);
    this.#meta.sources.push(source);
    this.#meta.inputs.push(input);
    if (this.#ends.length >= CHUNK_RECORDS) await this.flush();
  }

  /** A record that could not be read: the state sees it in reading order, after the records before it. */
  unread(source: string): void {
    if (this.#ends.length > 0) this.#meta.unread.push(source);
    else this.#order.unread(source);
  }

  /** Sends the chunk being filled, waiting while every worker is busy. */
  async flush(): Promise<void> {
    if (this.#ends.length === 0 || !this.#buffer) return;
    const id = this.#nextId++;
    this.#order.sent(id, this.#meta);
    const chunk = { id, buffer: this.#buffer, ends: Uint32Array.from(this.#ends) };
    this.#buffer = undefined;
    this.#ends = [];
    this.#meta = { sources: [], inputs: [], unread: [] };
    this.#used = 0;
    await this.#pool.submit(chunk);
  }
}

/**
 * Reads the inputs one by one, sending this shard's records to the workers.
 * Returns the inputs that held no record at all (whichever shard owns them).
 */
async function readAndDispatch(
  opts: VerifyRunOptions,
  builder: ReportBuilder,
  pool: WorkerPool,
  order: ReadingOrder,
): Promise<number[]> {
  const shard = opts.shard ?? null;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const packer = new ChunkPacker(pool, order);
  const owns = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
  const empty: number[] = [];
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
        if (item.scope === 'record') packer.unread(item.source);
        continue;
      }
      await packer.add(item.source, i, item.bytes);
    }
    if (offered === 0 && !reported && !opts.allowEmpty) empty.push(i);
  }
  await packer.flush();
  return empty;
}

/**
 * An unmounted directory or an empty archive must not pass as "nothing
 * failed". Every shard sees it (a shard that owns none of an input's records
 * is not empty), and merge counts it once.
 */
function reportEmptyInputs(builder: ReportBuilder, inputs: readonly string[], empty: readonly number[]): void {
  for (const i of empty) {
    builder.unreadable(
      inputs[i]!,
      i,
      'ERR_ARCHIVE_EMPTY',
      'holds no record (pass `allowEmpty` if that is expected)',
      'unreadable',
    );
  }
}

/**
 * Turns the state's findings into failures, then puts the new state in place
 * only after a complete run: a run that could not read some input would
 * record everything in it as gone, so the last complete state stays instead.
 */
async function finishState(
  state: StateTracker,
  builder: ReportBuilder,
  logConsistent: boolean,
): Promise<{ summary: StateSummary; missing: string[]; changed: string[]; added: string[] }> {
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
  const complete = builder.totals.unreadable === 0;
  // A log rewritten or rolled back since the state's checkpoint: keep that checkpoint, so the next run fails too.
  const written = await state.finish(complete && state.status !== 'tampered' && logConsistent);
  // The state in place now: the new one, or the previous one a run that saw less left alone.
  const current = state.written ?? state.previous;
  return {
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
  };
}
