import { type FileHandle, open, readFile, stat, unlink } from 'node:fs/promises';
import { dirname } from 'node:path';
import {
  type AuditRecordV2_1,
  DEFAULT_MAX_INPUT_BYTES,
  ErstError,
  type JsonObject,
  bytesToHex,
  hashInputV2_1,
  hexToBytes,
  isErstError,
  parseStrictJson,
  sha256,
  withLogProof,
} from '@erst/core';
import type { LogWriter } from '@erst/log-store';
import { LineSplitter } from '@erst/archive';
import { fsyncDirectory } from '@erst/node-io';
import type { GroupStage, StageContext } from './group-commit.js';
import type { BatchRecord } from './sink.js';
import type { Timestamper } from './timestamper.js';

/** Where a log stage keeps the records it holds: beside the output, `<output>.log-journal`. */
export function journalPath(target: string): string {
  return `${target.replace(/\/+$/, '')}.log-journal`;
}

/** The steps of a log stage, for `onStep`: after each, a crash leaves what docs/batch.md describes. */
export type LogStep = 'journaled' | 'checkpointed' | 'released' | 'closing';

export interface LogStageOptions {
  /** Sign a checkpoint once this many records have been appended since the last one (default: once, at the end). */
  readonly checkpointEvery?: number;
  /** Called after each step; a test kills the process here to check each crash point. */
  readonly onStep?: (step: LogStep) => void;
  /**
   * Timestamps each checkpoint (one TSA request per checkpoint, over SHA-256
   * of its signed note text): every record it releases carries the DER
   * token in its proof's `extra` line. No token, no release: the failure
   * stops the batch and the records wait in the journal for a rerun.
   */
  readonly timestamper?: Timestamper;
}

/** What a log stage did in this run. */
export interface LogStageStats {
  /** Entries appended to the log by this run (journal recovery included). */
  readonly appended: number;
  /** Checkpoints signed by this run: one signature by the log's key each. */
  readonly checkpoints: number;
  /** Checkpoint timestamp tokens had from the TSA by this run (with a `timestamper`). */
  readonly timestamps: number;
  /** Records accepted with a signature of their own: one signature by the key each. */
  readonly recordSignatures: number;
  /** Records of an interrupted run finished from the journal. */
  readonly recovered: number;
  /** The log's size at the last checkpoint. */
  readonly size: number;
}

/** A `GroupStage` that logs records: see `logStage`. */
export interface LogStage extends GroupStage {
  stats(): LogStageStats;
}

interface Held {
  /** Its `encoded` (when it has one) is a compact line the stage owns: the thread's buffer is reused once written. */
  record: BatchRecord;
  index: number;
  /** Where `record.encoded` lies with PROOF_ROOM bytes after it, for its log_proof member. */
  room?: Uint8Array | undefined;
}

/**
 * Bytes kept free after each line a thread encoded, so that its log_proof
 * member is written in place: a second copy of every record, in fresh
 * memory, cost more than the copy itself (a page fault per 4 KiB). A proof
 * in a log of up to 2^40 entries fits; a longer one (a checkpoint's
 * timestamp token in its extra line) is copied. Untouched room costs
 * address space only.
 */
const PROOF_ROOM = 4096;
/** Pieces per writev call: within every system's IOV_MAX (1024 on Linux). */
const MAX_PIECES = 1024;

const CLOSE_LINE = '}\n';
const V2_1_START = Buffer.from('{"version":"2.1.0",');

/**
 * `encoded` (the line `JSON.stringify(record)` and a newline, of a 2.1.0
 * record with neither late seal) with `log_proof` added: the bytes of
 * `JSON.stringify(withLogProof(record, proof))` and a newline, without
 * parsing or serializing the record again (withLogProof puts `log_proof`
 * last, which is where it goes here). Undefined for a line this does not
 * know to be such a record: the caller then takes the slow path.
 */
export function lineWithLogProof(encoded: Uint8Array, proof: string, room?: Uint8Array): Uint8Array | undefined {
  const n = encoded.length;
  if (n < V2_1_START.length + 2 || encoded[n - 2] !== 0x7d || encoded[n - 1] !== 0x0a) return undefined;
  if (!V2_1_START.equals(encoded.subarray(0, V2_1_START.length))) return undefined;
  // A late seal already there would have to move (withLogProof keeps timestamp_token before log_proof).
  if (hasMember(encoded, 'log_proof') || hasMember(encoded, 'timestamp_token')) return undefined;
  const tail = `,"log_proof":${JSON.stringify(proof)}${CLOSE_LINE}`;
  const size = n - 2 + Buffer.byteLength(tail);
  // `room` starts where `encoded` does, with space after it: the line is finished there, in place.
  const inPlace =
    room !== undefined &&
    room.buffer === encoded.buffer &&
    room.byteOffset === encoded.byteOffset &&
    room.length >= size;
  const out = inPlace ? Buffer.from(room.buffer, room.byteOffset, size) : Buffer.allocUnsafe(size);
  if (!inPlace) out.set(encoded.subarray(0, n - 2));
  out.write(tail, n - 2);
  return out;
}

/**
 * Whether the compact line has a top-level-looking `"<name>":` anywhere; a
 * payload string or key that merely contains it makes this say yes (the slow
 * path then decides), never no for a member that is there.
 */
function hasMember(encoded: Uint8Array, name: string): boolean {
  return Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length).includes(`"${name}":`);
}

const JOURNAL_HEADER = 'erst-log-journal@v1';

/**
 * A record as the stage keeps it: its bytes (a compact line), and the object
 * made from them only if asked for. A class, as batch-sign's SignedRecord
 * is: an object literal with a getter is defined property by property and
 * each one became a dictionary.
 */
class KeptRecord implements BatchRecord {
  constructor(
    readonly line: number,
    readonly transactionHash: string,
    readonly traceHash: string | undefined,
    readonly encoded: Uint8Array,
  ) {}

  get record(): JsonObject {
    const { encoded } = this;
    return JSON.parse(Buffer.from(encoded.buffer, encoded.byteOffset, encoded.length).toString('utf8'));
  }
}

/** `record` with `encoded` as its bytes (a compact line). */
function keptRecord(record: BatchRecord, encoded: Uint8Array): BatchRecord {
  return new KeptRecord(record.line, record.transactionHash, record.traceHash, encoded);
}

/**
 * A `GroupStage` that appends each record's `trace_hash` to `log` (a
 * `LogWriter` whose key is the one signing the records), signs a checkpoint
 * every `checkpointEvery` entries (and at the end), and releases each
 * record as 2.1.0 with its `log_proof` only once the checkpoint covering it
 * is durable. Records accepted are first appended to a journal beside the
 * output and fsynced, so that a record is durable before its entry is
 * logged: a rerun after a crash finishes the journal first (entries already
 * in the log take their proof, missing ones are appended) instead of signing
 * those inputs again, which would log them twice (a record's `trace_hash`
 * covers its timestamp). The journal is removed once the output is closed.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` for a bad `checkpointEvery`;
 * from `open`, `ERR_OUTPUT_WRITE` for a journal that is not this log's or
 * holds a record this key did not make.
 * @example
 * const log = await openSignerLog('log/', signer);
 * await signBatch({ signer, input, output: jsonlSink('out.jsonl'), schema: '2.1.0', stage: logStage(log) });
 */
export function logStage(log: LogWriter, options: LogStageOptions = {}): LogStage {
  const every = options.checkpointEvery ?? Number.POSITIVE_INFINITY;
  if (every !== Number.POSITIVE_INFINITY && !(Number.isSafeInteger(every) && every >= 1)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`checkpointEvery` must be a whole number of at least 1', {
      details: { options: ['checkpointEvery'] },
    });
  }
  return new JournaledLogStage(log, every, options.onStep ?? (() => {}), options.timestamper);
}

class JournaledLogStage implements LogStage {
  readonly #log: LogWriter;
  readonly #every: number;
  readonly #onStep: (step: LogStep) => void;
  readonly #timestamper: Timestamper | undefined;
  /** The last checkpoint's token: asked once per checkpoint, however many releases it serves. */
  #token: { size: number; token: Uint8Array } | undefined;
  #journal: FileHandle | undefined;
  #path = '';
  #keyHex = '';
  #held: Held[] = [];
  /** Whether the output's layout is the journal's (compact lines): records' bytes then pass through as they are. */
  #lines = false;
  #stats = { appended: 0, checkpoints: 0, timestamps: 0, recordSignatures: 0, recovered: 0 };

  constructor(log: LogWriter, every: number, onStep: (step: LogStep) => void, timestamper: Timestamper | undefined) {
    this.#log = log;
    this.#every = every;
    this.#onStep = onStep;
    this.#timestamper = timestamper;
  }

  stats(): LogStageStats {
    return { ...this.#stats, size: this.#log.signedCheckpoint.size };
  }

  async open(context: StageContext): Promise<readonly BatchRecord[]> {
    this.#path = journalPath(context.target);
    this.#lines = (context.recordLayout ?? 'line') === 'line';
    this.#keyHex = bytesToHex((await context.signer.publicKey()).raw);
    const left = await this.#io(() => this.#readJournal());
    await this.#io(async () => {
      this.#journal = await open(this.#path, 'a', 0o600);
      if (left === undefined) {
        await this.#write(`${JSON.stringify({ journal: JOURNAL_HEADER, origin: this.#log.origin })}\n`);
        fsyncDirectory(dirname(this.#path));
      }
    });
    if (!left || left.length === 0) return [];
    // Entries a killed run appended are found by their trace_hash; the rest are appended now.
    const logged = new Map<string, number>();
    for (let i = 0; i < this.#log.size; i++) logged.set(bytesToHex(this.#log.entry(i)), i);
    for (const record of left) {
      const hash = record.record.trace_hash as string;
      const index = logged.get(hash) ?? this.#append(hash);
      logged.set(hash, index);
      this.#held.push({ record, index });
    }
    this.#stats.recovered = left.length;
    return this.#release();
  }

  async accept(group: readonly BatchRecord[]): Promise<readonly BatchRecord[]> {
    if (group.length === 0) return [];
    const own = this.#owned(group);
    // Durable before logged: an entry in the log whose record was lost would be an input logged twice on rerun.
    await this.#io(() => this.#write(own.journal));
    this.#onStep('journaled');
    const out: BatchRecord[] = [];
    for (const [i, record] of own.records.entries()) {
      // A thread's record says its trace_hash and signature beside its bytes: it is not parsed again here.
      const traceHash = record.traceHash ?? (record.record.trace_hash as string);
      const signed =
        record.encoded && record.traceHash !== undefined
          ? this.#signed(record.encoded, record.traceHash)
          : typeof record.record.signature === 'string';
      if (signed) this.#stats.recordSignatures++;
      this.#held.push({ record, index: this.#append(traceHash), room: own.rooms[i] });
      if (this.#held.length >= this.#every) out.push(...(await this.#release()));
    }
    return out;
  }

  /**
   * The group's journal lines, and its records as the stage keeps them: a
   * record a thread encoded as a compact line keeps a copy of its bytes (the
   * thread's buffer is reused once the group is accepted), in one buffer for
   * the group that is also what the journal is written from; any other
   * record is serialized for the journal, each line on its own (one line
   * past Latin-1 would make a joined string two-byte, 3 to 4 times as slow
   * to encode).
   */
  #owned(group: readonly BatchRecord[]): {
    journal: Uint8Array[];
    records: BatchRecord[];
    rooms: (Uint8Array | undefined)[];
  } {
    const lines: Uint8Array[] = [];
    let size = 0;
    for (const r of group) {
      const kept = r.encoded !== undefined && this.#lines && r.traceHash !== undefined;
      const line = kept ? r.encoded! : Buffer.from(`${JSON.stringify(r.record)}\n`, 'utf8');
      lines.push(line);
      size += kept ? line.length + PROOF_ROOM : 0;
    }
    const arena = new Uint8Array(size);
    const records: BatchRecord[] = [];
    const rooms: (Uint8Array | undefined)[] = [];
    const journal: Uint8Array[] = [];
    let off = 0;
    for (let i = 0; i < group.length; i++) {
      const r = group[i]!;
      const line = lines[i]!;
      if (line === r.encoded) {
        arena.set(line, off);
        const kept = arena.subarray(off, off + line.length);
        journal.push(kept);
        records.push(keptRecord(r, kept));
        rooms.push(arena.subarray(off, off + line.length + PROOF_ROOM));
        off += line.length + PROOF_ROOM;
        continue;
      }
      journal.push(line);
      rooms.push(undefined);
      // Bytes in another layout are not kept: the record is then held as an object, parsed before they are reused.
      const { line: n, transactionHash, traceHash } = r;
      records.push(r.encoded ? { line: n, transactionHash, traceHash, record: r.record } : r);
    }
    return { journal, records, rooms };
  }

  /**
   * Whether a thread's compact 2.x line carries a signature of its own:
   * generateWithSigner writes `signature` last, right after `trace_hash`, so
   * an unsigned one ends with its trace_hash member (a payload member named
   * `signature` is no signature).
   */
  #signed(encoded: Uint8Array, traceHash: string): boolean {
    const end = `"trace_hash":"${traceHash}"${CLOSE_LINE}`;
    const tail = encoded.subarray(encoded.length - end.length);
    return !Buffer.from(tail.buffer, tail.byteOffset, tail.length).equals(Buffer.from(end, 'latin1'));
  }

  async flush(): Promise<readonly BatchRecord[]> {
    return this.#release();
  }

  async close(): Promise<void> {
    this.#onStep('closing');
    await this.#io(async () => {
      await this.#journal?.close();
      this.#journal = undefined;
      // Every record is in the output (closed, so durable) and in the log: the journal has done its job.
      await unlink(this.#path);
      fsyncDirectory(dirname(this.#path));
    });
  }

  async abandon(): Promise<void> {
    await this.#journal?.close();
    this.#journal = undefined;
  }

  #append(traceHash: string): number {
    this.#stats.appended++;
    return this.#log.append(hexToBytes(traceHash)!);
  }

  /** Signs a checkpoint over what is held (if anything is new) and returns those records with their proofs. */
  async #release(): Promise<BatchRecord[]> {
    if (this.#held.length === 0) return [];
    if (this.#log.size > this.#log.signedCheckpoint.size) {
      await this.#log.checkpoint();
      this.#stats.checkpoints++;
      this.#onStep('checkpointed');
    }
    const extra = await this.#checkpointToken();
    const out = this.#held.map(({ record, index, room }) => {
      const proof = this.#log.proof(index, extra ? { extra } : {});
      const encoded = record.encoded && lineWithLogProof(record.encoded, proof, room);
      if (encoded) return keptRecord(record, encoded);
      const { encoded: _stale, ...rest } = record;
      return {
        ...rest,
        record: withLogProof(record.record as unknown as AuditRecordV2_1, proof) as unknown as JsonObject,
      };
    });
    this.#held = [];
    this.#onStep('released');
    return out;
  }

  /** The TSA's token over the last checkpoint's note text (none without a timestamper). */
  async #checkpointToken(): Promise<Uint8Array | undefined> {
    if (!this.#timestamper) return undefined;
    const checkpoint = this.#log.signedCheckpoint;
    if (this.#token?.size !== checkpoint.size) {
      this.#token = { size: checkpoint.size, token: await this.#timestamper.checkpointToken(checkpoint.text) };
      this.#stats.timestamps++;
    }
    return this.#token.token;
  }

  /** Appends `text` (or these pieces, in order) to the journal, and makes it durable. */
  async #write(text: string | readonly Uint8Array[]): Promise<void> {
    let rest = typeof text === 'string' ? [Buffer.from(text, 'utf8')] : text.filter((p) => p.length > 0);
    while (rest.length > 0) {
      const batch = rest.slice(0, MAX_PIECES);
      let written = (await this.#journal!.writev(batch)).bytesWritten;
      // A short write (rare for a file): go on from the first byte not written.
      let i = 0;
      while (i < batch.length && written >= batch[i]!.length) written -= batch[i++]!.length;
      rest = rest.slice(i);
      if (written > 0) rest[0] = rest[0]!.subarray(written);
    }
    await this.#journal!.datasync();
  }

  /**
   * The records a killed run journaled (undefined: no journal). Each must be
   * a 2.1.0 record by this key whose `trace_hash` is its hash input's, since
   * it is logged before anything else checks it; a torn last line is dropped
   * (its group was never logged).
   */
  async #readJournal(): Promise<BatchRecord[] | undefined> {
    try {
      if (!(await stat(this.#path)).isFile()) throw this.#bad('is not a regular file');
    } catch (e) {
      if ((e as { code?: string }).code === 'ENOENT') return undefined;
      throw e;
    }
    const text = await readFile(this.#path);
    const records: BatchRecord[] = [];
    const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
    let complete = 0;
    for (const l of splitter.push(text)) {
      if ('tooLong' in l) throw this.#bad(`line ${l.line} is too long to be a record`);
      if (l.line === 1) {
        this.#checkHeader(l.bytes);
        complete++;
        continue;
      }
      records.push(this.#journaled(l.bytes, l.line));
      complete++;
    }
    if (complete === 0) throw this.#bad('has no header line');
    // A torn tail is cut off before anything is appended after it.
    const end = text.lastIndexOf(0x0a) + 1;
    if (end < text.length) {
      const handle = await open(this.#path, 'r+');
      try {
        await handle.truncate(end);
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
    return records;
  }

  #checkHeader(bytes: Uint8Array): void {
    let header: JsonObject;
    try {
      header = parseStrictJson(bytes) as JsonObject;
    } catch {
      throw this.#bad('does not start with a journal header');
    }
    if (header?.journal !== JOURNAL_HEADER) throw this.#bad('does not start with a journal header');
    if (header.origin !== this.#log.origin) {
      throw this.#bad(`belongs to another log (origin ${JSON.stringify(header.origin)}); finish that batch first`);
    }
  }

  #journaled(bytes: Uint8Array, line: number): BatchRecord {
    let record: JsonObject;
    try {
      record = parseStrictJson(bytes) as JsonObject;
    } catch {
      throw this.#bad(`line ${line} is not JSON`);
    }
    const hash = record?.trace_hash;
    const ok =
      record?.version === '2.1.0' &&
      record.public_key === this.#keyHex &&
      typeof record.transaction_hash === 'string' &&
      typeof hash === 'string' &&
      bytesToHex(sha256(hashInputV2_1(record))) === hash;
    if (!ok) throw this.#bad(`line ${line} is not a 2.1.0 record made by this key`);
    return { line: 0, transactionHash: record.transaction_hash as string, record };
  }

  /** A file system failure on the journal as an output failure naming it (coded errors pass through). */
  async #io<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      if (isErstError(e)) throw e;
      const code = (e as { code?: string }).code ?? 'error';
      throw new ErstError('ERR_OUTPUT_WRITE', `cannot write the log journal ${this.#path} (${code})`, {
        cause: e,
        details: { file: this.#path },
      });
    }
  }

  #bad(why: string): ErstError {
    return new ErstError(
      'ERR_OUTPUT_WRITE',
      `the log journal ${this.#path} ${why}; not logging anything: move it aside only if that batch is abandoned`,
      { details: { file: this.#path } },
    );
  }
}
