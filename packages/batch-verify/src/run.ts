import { createHash, hash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { DEFAULT_MAX_INPUT_BYTES, ErstError, type Signer } from '@erst/core';
import type { VerifyOptions } from '@erst/verify';
import {
  type InputDigests,
  checkInputs,
  directoryFiles,
  hashFiles,
  inputDigest,
  readInputs,
  startInputDigests,
} from '@erst/archive/node';
import { detachOnce } from './detach.js';
import { LazyPool, WORKER_URL } from './pool.js';
import type { ChunkLog, ChunkSummary, RecordOutcome, StoredOutcome } from './protocol.js';
import { type Report, ReportBuilder, type StateSummary, trustSummary } from './report.js';
import { summarize, summarizeShared } from './outcome.js';
import { type Shard, checkShard, formatShard, shardOf } from './shard.js';
import { LogCheck } from './log.js';
import { type KeptRange, type KeptResult, type StateLog, StateTracker, configDigest, isStateDigest } from './state.js';

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

/** How far a run has got, for a progress display. */
export interface VerifyProgress {
  /** Records finished so far: verified (or their previous result reused), or found unreadable. */
  done: number;
  /** How many records the run has, once known (when every input has been read), else undefined. */
  total: number | undefined;
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
  /**
   * With a signed state (`state.key`), a run verifies again only the records
   * whose bytes changed since the previous run, reusing the previous result
   * of every other one, unless the configuration changed (trust material,
   * `maxBytes`, the tool's version). `full` verifies every record anyway.
   * Either way the report is the same.
   */
  full?: boolean;
  /**
   * Called as records finish, at most about ten times a second, and once
   * more at the end with the final count. It runs on the main thread:
   * keep it quick.
   */
  onProgress?: (progress: VerifyProgress) => void;
  /**
   * Called once reading and verifying are over, with the number of verifier
   * threads the run started: `workers`, or 0 when it started none (a run of
   * one chunk is verified on the calling thread, and a run whose every
   * result was kept verifies nothing), so that a summary can say which.
   */
  onWorkers?: (threads: number) => void;
}

/** The most verifier threads a run starts: more is a mistake, not a machine. */
export const MAX_WORKERS = 1024;

/** Records per chunk sent to a worker, and the size of a chunk's buffer. */
const CHUNK_RECORDS = 64;
const CHUNK_BYTES = 2 * 1024 * 1024;
/** The least time between two `onProgress` calls. */
const PROGRESS_INTERVAL_MS = 100;

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
  // This thread transfers the chunks' buffers to the verifier threads: see detachOnce.
  detachOnce();
  // A path that does not exist fails the run before a thread starts or a state file is touched.
  await checkInputs(opts.inputs);
  const shard = opts.shard ?? null;
  const builder = new ReportBuilder(opts.inputs, shard, trustSummary(opts.verify));
  // Read before the state opens: the new state records the checkpoint it verified.
  // A run that may reuse results hashes its whole files on other threads while the state loads (see readAndDispatch).
  const digests = opts.state?.key && opts.full !== true ? startInputDigests(opts.inputs, opts.workers) : undefined;
  // So are a directory's files, on threads of their own (see keptDirectory); stopped if the state reuses nothing.
  const files =
    opts.state?.key && opts.full !== true && opts.log === undefined ? new DirectoryHashes(opts, shard) : undefined;
  let log: LogCheck | undefined;
  let state: StateTracker | undefined;
  try {
    // The log is read while the archive is (see LogCheck); a state waits for it, since it records its checkpoint.
    log = opts.log !== undefined ? LogCheck.start(opts.log, opts.verify.logKeys ?? []) : undefined;
    if (opts.state && log) await log.ready();
    state = opts.state ? await openState(opts, shard, log?.stateLog) : undefined;
  } catch (e) {
    digests?.close();
    files?.close();
    throw e;
  }
  if (!state?.reuses) {
    digests?.close();
    files?.close();
  } else if (!opts.inputs.some((path) => state!.keptRange(path, true))) {
    // No directory the state could reuse whole: its files are read and hashed record by record.
    files?.close();
  }
  const progress = new ProgressTicker(opts.onProgress);
  const order = new ReadingOrder(state, log, progress, builder);
  let empty: number[] = [];
  let completed = false;
  const pool = new LazyPool(
    opts.workers,
    {
      verify: opts.verify,
      contentHash: state !== undefined,
      outcomes: state?.keepsResults === true,
      log: log !== undefined,
    },
    (id, s, buf) => order.verified(id, s, buf),
    // The log is read once the threads have their first chunk (see LogCheck).
    () => log?.begin(),
  );
  try {
    // A run with no state to reuse results from, over files larger than two chunks, will start its threads: now, so
    // that they boot while the first chunk is read (0.2 s earlier on a 50,000-record .jsonl).
    if (!opts.state && (await inputBytes(opts.inputs)) > 2 * CHUNK_BYTES) pool.prestart();
    empty = await readAndDispatch(opts, builder, pool, order, state, progress, digests, files);
    await pool.drain();
    await log?.ready();
    order.observe();
    progress.end();
    opts.onWorkers?.(pool.threaded ? opts.workers : 0);
    completed = true;
  } finally {
    digests?.close();
    files?.close();
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

/** The bytes of the inputs that are regular files (a directory counts for nothing: its size is not known yet). */
async function inputBytes(inputs: readonly string[]): Promise<number> {
  let total = 0;
  for (const input of inputs) {
    const st = await stat(input).catch(() => undefined);
    if (st?.isFile()) total += st.size;
  }
  return total;
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
function openState(opts: VerifyRunOptions, shard: Shard | null, log: StateLog | undefined): Promise<StateTracker> {
  const state = opts.state!;
  const config = state.key ? runConfig(opts) : undefined;
  return StateTracker.open({
    ...(log ? { log } : {}),
    path: state.path,
    init: state.init ?? false,
    shard: shard ? formatShard(shard) : null,
    ...(state.key ? { key: state.key } : {}),
    ...(state.expect !== undefined ? { expect: state.expect } : {}),
    ...(config !== undefined ? { config } : {}),
    full: opts.full === true,
  });
}

/**
 * The digest of everything that can change a record's verdict: the trust
 * material (`verify`: keys, trust policies, attestation and TSA roots, log
 * keys, the require flags), `maxBytes`, and the tool (`toolIdentity`).
 */
function runConfig(opts: VerifyRunOptions): string | undefined {
  const tool = toolIdentity();
  if (tool === undefined) return undefined;
  // The backend changes how a signature is checked, never the verdict.
  const { backend: _backend, ...verify } = opts.verify;
  return configDigest({ tool, verify, maxBytes: opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES });
}

let tool: string | null | undefined;
/**
 * The code that decides verdicts: SHA-256 of the verifier threads' code
 * (in a bundled command, all of `@erst/verify` is in it), and the versions
 * of this package and of `@erst/verify` where their package.json files can
 * be found (installed as packages). Undefined, so that no result is kept,
 * if the thread's code cannot be read.
 */
function toolIdentity(): string | undefined {
  if (tool === undefined) {
    try {
      const code = createHash('sha256').update(readFileSync(WORKER_URL)).digest('hex');
      tool = `worker sha256 ${code}; ${packageVersion('../package.json', '@erst/batch-verify')}; ${packageVersion('@erst/verify/package.json', '@erst/verify')}`;
    } catch {
      tool = null;
    }
  }
  return tool ?? undefined;
}

/** `name@version` from a package.json, which must be `name`'s (in a bundle, a path may lead to another's), or ''. */
function packageVersion(specifier: string, name: string): string {
  try {
    const path = createRequire(import.meta.url).resolve(specifier);
    const pkg = JSON.parse(readFileSync(path, 'utf8')) as { name?: unknown; version?: unknown };
    return pkg.name === name && typeof pkg.version === 'string' ? `${name}@${pkg.version}` : '';
  } catch {
    return '';
  }
}

/** Calls `onProgress` at most every PROGRESS_INTERVAL_MS, and once at the end. */
class ProgressTicker {
  readonly #callback: VerifyRunOptions['onProgress'];
  #done = 0;
  #total: number | undefined;
  #last = 0;

  constructor(callback: VerifyRunOptions['onProgress']) {
    this.#callback = callback;
  }

  finished(records: number): void {
    if (!this.#callback) return;
    this.#done += records;
    const now = performance.now();
    if (now - this.#last < PROGRESS_INTERVAL_MS) return;
    this.#last = now;
    this.#callback({ done: this.#done, total: this.#total });
  }

  /** Every input has been read: the record count is known. */
  counted(total: number): void {
    this.#total = total;
  }

  end(): void {
    this.#callback?.({ done: this.#done, total: this.#done });
  }
}

/**
 * What the state sees, in reading order: a chunk (once verified), a record
 * that could not be read, or an input whose every record kept its result.
 */
type StateStep = { chunk: number; unread: string[] } | { unread: string[] } | { kept: KeptRange; unread: string[] };

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
  readonly #progress: ProgressTicker;
  readonly #verified = new Map<number, { chunk: PendingChunk; summary: ChunkSummary }>();
  readonly #pending = new Map<number, PendingChunk>();
  /** Chunk buffers travel to a worker and back, and are filled again: a fixed set of them carries the whole archive. */
  readonly spare: ArrayBuffer[] = [];

  readonly #builder: ReportBuilder;

  constructor(
    state: StateTracker | undefined,
    log: LogCheck | undefined,
    progress: ProgressTicker,
    builder: ReportBuilder,
  ) {
    this.#builder = builder;
    this.#state = state;
    this.#log = log;
    this.#progress = progress;
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

  /**
   * A chunk's result (a worker's, or, with no buffer, of a chunk whose every
   * record kept its result): counted at once, shown to the state once every
   * chunk read before it is.
   */
  verified(id: number, summary: ChunkSummary, buffer: ArrayBuffer | undefined): void {
    const builder = this.#builder;
    if (buffer?.byteLength === CHUNK_BYTES) this.spare.push(buffer);
    const chunk = this.#pending.get(id)!;
    this.#pending.delete(id);
    if (chunk.reused) summary.reused = Uint8Array.from(chunk.reused);
    if (summary.reused) {
      addWithReused(chunk, summary, builder, this.#log);
    } else {
      builder.addChunk(chunk.sources, chunk.inputs, summary);
      if (this.#log && summary.log) this.#log.observe(chunk.sources, chunk.inputs, summary.log);
    }
    this.#progress.finished(chunk.sources.length);
    if (!this.#state) return;
    this.#verified.set(id, { chunk, summary });
    this.observe();
  }

  /**
   * An input whose every record keeps its previous result (its file hashed
   * the same): counted at once, in one summary, and shown to the state in its
   * turn, without a chunk or an object per record.
   */
  keptInput(state: StateTracker, range: KeptRange, input: number): void {
    const { sources, outcomes, of } = state.rangeResults(range);
    const counted = outcomes.map((text) => parseKept(text).outcome);
    this.#builder.addChunk(sources, new Array<number>(sources.length).fill(input), summarizeShared(counted, of));
    this.#progress.finished(sources.length);
    this.#steps.push({ kept: range, unread: [] });
    this.observe();
  }

  /** A record found unreadable while reading: finished at once. */
  unreadRecord(): void {
    this.#progress.finished(1);
  }

  /** Shows the state every step whose turn has come. */
  observe(): void {
    const state = this.#state;
    if (!state) return;
    for (; this.#step < this.#steps.length; this.#step++) {
      const s = this.#steps[this.#step]!;
      if ('kept' in s) {
        state.observeRange(s.kept);
      } else if ('chunk' in s) {
        const done = this.#verified.get(s.chunk);
        if (!done) break;
        this.#verified.delete(s.chunk);
        observeChunk(state, done.chunk, done.summary);
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
  /** When the run reuses results: each record's previous result, if its bytes did not change. */
  kept?: (KeptResult | undefined)[];
  /** 1 for each record whose kept result stands (it went to no worker); undefined while none does. */
  reused?: number[];
}

/** Shows the state a chunk's records in order, each with its result when the state keeps them. */
function observeChunk(state: StateTracker, chunk: PendingChunk, summary: ChunkSummary): void {
  const { traceHashes, contentHashes, outcomes, reused } = summary;
  let v = 0;
  for (let i = 0; i < chunk.sources.length; i++) {
    if (reused?.[i]) {
      const kept = chunk.kept![i]!;
      state.observe(chunk.sources[i]!, kept.traceHash || null, kept.contentHash || null, kept.outcome);
      continue;
    }
    state.observe(chunk.sources[i]!, traceHashes![v] || null, contentHashes![v] || null, outcomes?.[v]);
    v++;
  }
}

/** A kept result, parsed: the outcome as `summarize` counts it (it reads no hash), and its log place. */
interface ParsedKept {
  outcome: RecordOutcome;
  proof: number | undefined;
  note: string | undefined;
}

/**
 * Kept results repeat (one per key, day and verdict, mostly): each distinct
 * text is parsed once, and the same object counts every record that has it
 * (no object per record on this thread).
 */
const parsedKept = new Map<string, ParsedKept>();
function parseKept(text: string): ParsedKept {
  let p = parsedKept.get(text);
  if (!p) {
    if (parsedKept.size >= 4096) parsedKept.clear();
    const { proof, note, ...o } = JSON.parse(text) as StoredOutcome;
    p = { outcome: { ...o, traceHash: null, contentHash: null }, proof, note };
    parsedKept.set(text, p);
  }
  return p;
}

/**
 * A chunk some of whose records kept their previous result: the verified
 * ones as the worker counted them, the others from the results the state
 * kept, counted the same way, so that the report is the one a full run gives.
 */
function addWithReused(chunk: PendingChunk, summary: ChunkSummary, builder: ReportBuilder, log?: LogCheck): void {
  const fresh = { sources: [] as string[], inputs: [] as number[] };
  const old = { sources: [] as string[], inputs: [] as number[], outcomes: [] as RecordOutcome[] };
  const oldLog: ChunkLog = { trace: [], proof: [], note: [], notes: [] };
  const notes = new Map<string, number>();
  for (let i = 0; i < chunk.sources.length; i++) {
    if (!summary.reused![i]) {
      fresh.sources.push(chunk.sources[i]!);
      fresh.inputs.push(chunk.inputs[i]!);
      continue;
    }
    const kept = chunk.kept![i]!;
    const { outcome, proof, note } = parseKept(kept.outcome);
    old.sources.push(chunk.sources[i]!);
    old.inputs.push(chunk.inputs[i]!);
    old.outcomes.push(outcome);
    oldLog.trace.push(kept.traceHash);
    if (note === undefined || proof === undefined) {
      oldLog.proof.push(-1);
      oldLog.note.push(-1);
    } else {
      let n = notes.get(note);
      if (n === undefined) {
        n = oldLog.notes.push(note) - 1;
        notes.set(note, n);
      }
      oldLog.proof.push(proof);
      oldLog.note.push(n);
    }
  }
  if (fresh.sources.length > 0) {
    builder.addChunk(fresh.sources, fresh.inputs, summary);
    if (log && summary.log) log.observe(fresh.sources, fresh.inputs, summary.log);
  }
  if (old.sources.length > 0) {
    builder.addChunk(old.sources, old.inputs, summarize(old.outcomes, false));
    log?.observe(old.sources, old.inputs, oldLog);
  }
}

/** Packs records into transferable chunk buffers and hands each full chunk to the pool. */
class ChunkPacker {
  readonly #pool: LazyPool;
  readonly #order: ReadingOrder;
  /** Set when this run reuses the previous state's results. */
  readonly #state: StateTracker | undefined;
  #nextId = 0;
  #buffer: ArrayBuffer | undefined;
  #view = new Uint8Array(0);
  /** Where each record to verify ends in the buffer (records whose result is reused have no bytes there). */
  #ends: number[] = [];
  #meta: PendingChunk = { sources: [], inputs: [], unread: [] };
  #used = 0;

  constructor(pool: LazyPool, order: ReadingOrder, state: StateTracker | undefined) {
    this.#pool = pool;
    this.#order = order;
    this.#state = state?.reuses ? state : undefined;
  }

  /** Copies a record into the chunk being filled (the reader may reuse its bytes afterwards). */
  async add(source: string, input: number, bytes: Uint8Array): Promise<void> {
    let kept: KeptResult | undefined;
    if (this.#state) {
      // Hashed here, on the reading thread: a record whose bytes are the ones
      // its kept result is for never goes to a worker (no copy, no message,
      // no outcome made and cloned back). The hash is what the worker would
      // compute for the new state, so the state is the same either way.
      kept = this.#state.kept(source);
      if (kept && hash('sha256', bytes, 'hex') !== kept.contentHash) kept = undefined;
    }
    return this.#place(source, input, kept, bytes);
  }

  /** A record whose bytes the caller found to be the ones `kept` is for (its whole input hashed the same). */
  addKept(source: string, input: number, kept: KeptResult): Promise<void> {
    return this.#place(source, input, kept, undefined);
  }

  async #place(source: string, input: number, kept: KeptResult | undefined, bytes: Uint8Array | undefined) {
    if (this.#state && !this.#meta.kept) this.#meta.kept = [];
    if (!kept && this.#buffer && this.#used + bytes!.length > this.#buffer.byteLength) await this.flush();
    const meta = this.#meta;
    meta.sources.push(source);
    meta.inputs.push(input);
    if (meta.kept) meta.kept.push(kept);
    if (kept) {
      if (!meta.reused) meta.reused = [];
      meta.reused.push(1);
    } else {
      bytes = bytes!;
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
      meta.reused?.push(0);
    }
    if (meta.sources.length >= CHUNK_RECORDS) await this.flush();
  }

  /** A record that could not be read: the state sees it in reading order, after the records before it. */
  unread(source: string): void {
    this.#order.unreadRecord();
    if (this.#meta.sources.length > 0) this.#meta.unread.push(source);
    else this.#order.unread(source);
  }

  /**
   * Sends the chunk being filled, waiting while every worker is busy; a chunk
   * whose every record keeps its result is done at once. `last`: reading is over.
   */
  async flush(last = false): Promise<void> {
    const meta = this.#meta;
    if (meta.sources.length === 0) return;
    const id = this.#nextId++;
    // Only when the run reuses results: 0 for each record to verify, 1 for each whose result stands.
    if (meta.reused && meta.reused.length < meta.sources.length) {
      meta.reused = [...new Array<number>(meta.sources.length - meta.reused.length).fill(0), ...meta.reused];
    }
    this.#order.sent(id, meta);
    const buffer = this.#buffer;
    const ends = this.#ends;
    this.#buffer = undefined;
    this.#ends = [];
    this.#meta = { sources: [], inputs: [], unread: [] };
    this.#used = 0;
    if (ends.length === 0) {
      this.#order.verified(id, summarize([], true), undefined);
      return;
    }
    await this.#pool.submit({ id, buffer: buffer!, ends: Uint32Array.from(ends) }, last);
  }
}

/**
 * Reads the inputs one by one, sending this shard's records to the workers.
 * Returns the inputs that held no record at all (whichever shard owns them).
 */
async function readAndDispatch(
  opts: VerifyRunOptions,
  builder: ReportBuilder,
  pool: LazyPool,
  order: ReadingOrder,
  state: StateTracker | undefined,
  progress: ProgressTicker,
  digests: InputDigests | undefined,
  files: DirectoryHashes | undefined,
): Promise<number[]> {
  const shard = opts.shard ?? null;
  const maxBytes = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
  const packer = new ChunkPacker(pool, order, state);
  let records = 0;
  const owns = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
  const empty: number[] = [];
  for (let i = 0; i < opts.inputs.length; i++) {
    const path = opts.inputs[i]!;
    const first = records;
    const directory = state?.keepsResults === true && (await isDirectory(path));
    // A directory whose files are the ones whose every record kept its result: those results stand.
    if (directory && opts.log === undefined) {
      const range = await keptDirectory(state!, path, files);
      if (range) {
        await packer.flush();
        order.keptInput(state!, range, i);
        records += range.records;
        state!.inputRead(path, null, first, range.records);
        continue;
      }
    }
    // The file is the one whose every record kept its result: those results stand, no record is split out or hashed.
    const range = directory ? undefined : state?.keptRange(path, false);
    if (range && (await (digests ? digests.get(path) : inputDigest(path))) === range.sha256) {
      if (opts.log === undefined) {
        // Records read before go first, in the state as in a full run.
        await packer.flush();
        order.keptInput(state!, range, i);
      } else {
        // The log check takes each record's place in the log from its kept result, record by record.
        const whole = state!.keptInput(path)!;
        for (let k = 0; k < whole.sources.length; k++) await packer.addKept(whole.sources[k]!, i, whole.kept[k]!);
      }
      records += range.records;
      state!.inputRead(path, range.sha256, first, range.records);
      continue;
    }
    let offered = 0;
    const accept = (source: string): boolean => {
      offered++;
      return owns(source);
    };
    let reported = false;
    let failed = false;
    let digest: string | undefined;
    const onInputDigest = (_: number, sha256: string) => {
      digest = sha256;
    };
    for await (const item of readInputs([path], {
      maxBytes,
      accept,
      ...(state?.keepsResults ? { onInputDigest } : {}),
    })) {
      reported = true;
      if (item.kind === 'failure') {
        failed = true;
        builder.unreadable(item.source, i, item.code, item.message, item.scope);
        if (item.scope === 'record') {
          records++;
          packer.unread(item.source);
        }
        continue;
      }
      records++;
      await packer.add(item.source, i, item.bytes);
    }
    if (offered === 0 && !reported && !opts.allowEmpty) empty.push(i);
    // Read whole, every record seen: the next run may take the file's digest (a directory's files') for all of them.
    if (digest !== undefined && !failed) state!.inputRead(path, digest, first, records - first);
    else if (directory && !failed) state!.inputRead(path, null, first, records - first);
  }
  await packer.flush(true);
  progress.counted(records);
  return empty;
}

async function isDirectory(path: string): Promise<boolean> {
  try {
    return (await stat(path)).isDirectory();
  } catch {
    return false;
  }
}

/**
 * The previous state's range for directory `path`, if it still holds: the
 * same files (this shard's, in reading order) with the same names, and every
 * one hashing to its entry's content hash. Each file is read and hashed, on
 * `threads` threads of their own: a file changed in place, whatever its
 * size and times, does not match. Undefined (the directory is then read
 * record by record) at the first difference.
 */
async function keptDirectory(
  state: StateTracker,
  path: string,
  hashing: DirectoryHashes | undefined,
): Promise<KeptRange | undefined> {
  const range = state.keptRange(path, true);
  const listed = range && (await hashing?.get(path));
  if (!range || !listed || listed.files.length !== range.records) return undefined;
  const { files, hashes } = listed;
  const kept = state.rangeHashes(range);
  for (let k = 0; k < files.length; k++) if (files[k] !== kept.sources[k]) return undefined;
  for (let k = 0; k < files.length; k++) if (hashes[k] !== kept.hashes[k]) return undefined;
  return range;
}

/**
 * Each directory input's files (this shard's, in reading order) and their
 * digests, computed one directory after another from the start of a run
 * that may reuse results, while the state loads (see keptDirectory).
 */
class DirectoryHashes {
  readonly #stop = new AbortController();
  readonly #done = new Map<string, Promise<{ files: string[]; hashes: (string | undefined)[] } | undefined>>();

  constructor(opts: VerifyRunOptions, shard: Shard | null) {
    const owns = shard ? (source: string) => shardOf(source, shard.count) === shard.index : () => true;
    const maxBytes = opts.maxBytes ?? DEFAULT_MAX_INPUT_BYTES;
    let previous: Promise<unknown> = Promise.resolve();
    for (const path of new Set(opts.inputs)) {
      const next = previous.then(async () => {
        if (this.#stop.signal.aborted || !(await isDirectory(path))) return undefined;
        const files = await directoryFiles(path, owns);
        if (!files || this.#stop.signal.aborted) return undefined;
        return { files, hashes: await hashFiles(files, maxBytes, opts.workers, this.#stop.signal) };
      });
      this.#done.set(path, next);
      previous = next.catch(() => undefined);
    }
  }

  get(path: string): Promise<{ files: string[]; hashes: (string | undefined)[] } | undefined> {
    return this.#done.get(path)?.catch(() => undefined) ?? Promise.resolve(undefined);
  }

  /** Stops hashing (what is not done yet is not needed). */
  close(): void {
    this.#stop.abort();
  }
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
