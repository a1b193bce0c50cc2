import { createHash } from 'node:crypto';
import { createReadStream, existsSync, mkdirSync, readdirSync, statSync, unlinkSync } from 'node:fs';
import { type FileHandle, open, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import {
  DEFAULT_MAX_INPUT_BYTES,
  ErstError,
  type JsonObject,
  type JsonValue,
  type SignInput,
  type Signer,
  type WritableSchema,
  bytesToHex,
  canonicalize,
  errorCategory,
  escapeForDisplay,
  generateWithSigner,
  isErstError,
  parseSignDocument,
  parseStrictJson,
} from '@erst/core';
import {
  type Line,
  LineSplitter,
  fsyncDirectory,
  isAtomicTempName,
  openInputFile,
  writeFileAtomicAsync,
} from '@erst/node-io';
import { Verifier } from '@erst/verify';
import type { Argv } from 'yargs';
import { EXIT } from './exit.js';

export interface BatchArgs {
  batch?: string;
  'out-dir'?: string;
  out?: string;
  concurrency: number;
  quiet?: boolean;
  payload?: string;
  'transaction-hash'?: string;
  schema: string;
}

// Lines stay within 78 columns: yargs re-wraps longer ones on an 80-column
// terminal and loses their indentation.
export const BATCH_HELP = `Batch signing: --batch payloads.jsonl (or - for stdin), one
{"transaction_hash", "payload"} document per line.
  --out-dir DIR   DIR/<transaction_hash>.json per record, each written
                  atomically
  --out FILE      one record per line, appended whole and fsynced
A rerun skips what is already signed (a file, or a line of --out, that
verifies under the key as that transaction's record), so an interrupted or
crashed batch is resumed by running it again; a line of --out that does
not verify stops the batch (exit 2, ERR_OUTPUT_WRITE) and the file is left
alone. A bad input line is reported with its line number and skipped; the
other lines are still signed.
Batch exit codes: 0 every line is signed (now or before); 2 some input
lines were bad (all others signed); 3 signer failure (the batch stops);
130/143 interrupted by SIGINT/SIGTERM; 70 a bug in erst (ERR_INTERNAL).
Rerun to resume after 3, 130, 143.`;

/** Flags for `erst audit sign --batch`; added to the sign command. */
export function withBatchOptions<T>(y: Argv<T>): Argv<T & BatchArgs> {
  return y
    .option('batch', {
      type: 'string',
      nargs: 1,
      describe: 'Sign every payload document of this .jsonl file (one per line; - for stdin)',
    })
    .option('out-dir', {
      type: 'string',
      normalize: true,
      describe: 'With --batch: write DIR/<transaction_hash>.json per record',
    })
    .option('concurrency', { type: 'number', default: 32, describe: 'With --batch: records in flight at once' })
    .option('quiet', {
      type: 'boolean',
      describe: 'With --batch: no progress and no summary (bad lines are still reported)',
    })
    .group(['batch', 'out-dir', 'concurrency', 'quiet'], 'Batch signing:')
    .check((a) => {
      const args = a as unknown as BatchArgs;
      if (args.batch === undefined) {
        if (args.payload === undefined)
          throw new Error('Give the payload with --payload <json | @file | ->, or many with --batch <file.jsonl>');
        if (args['out-dir'] !== undefined) throw new Error('--out-dir goes with --batch');
        return true;
      }
      if (args.payload !== undefined) throw new Error('--payload and --batch cannot be used together');
      if (args['transaction-hash'] !== undefined)
        throw new Error('--transaction-hash cannot be used with --batch: every line carries its own');
      if ((args['out-dir'] === undefined) === (args.out === undefined))
        throw new Error('--batch needs one output: --out-dir <dir> or --out <file.jsonl>');
      if (!Number.isInteger(args.concurrency) || args.concurrency < 1 || args.concurrency > 1024) {
        throw new Error('--concurrency must be a whole number from 1 to 1024');
      }
      return true;
    })
    .epilogue(BATCH_HELP) as unknown as Argv<T & BatchArgs>;
}

const TX_HASH = /^[0-9a-f]{64}$/;
/** What writeFileAtomic leaves behind for DIR/<transaction_hash>.json when killed mid-write. */
const STALE_TEMP = /^\.[0-9a-f]{64}\.json\.(?:[0-9]+\.)?[0-9a-f]{12}\.tmp$/;

interface BadLine {
  line: number;
  code: string;
  message: string;
}

class LineError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

/**
 * The {transaction_hash, payload} document of one line, read by core's one
 * parser (a bare payload has no hash to go by in a batch). The hash is
 * checked as 64 hex there, before it becomes a file name.
 */
function lineDocument(bytes: Buffer): SignInput {
  try {
    return parseSignDocument(parseStrictJson(bytes));
  } catch (e) {
    if (!isErstError(e)) throw e;
    if (e.details?.missing === 'transactionHash') {
      throw new LineError(
        e.code,
        'no "transaction_hash": in a batch every line is {"transaction_hash": "<64 hex>", "payload": {...}}',
      );
    }
    throw new LineError(e.code, e.message);
  }
}

/**
 * Appends whole lines to a .jsonl file, fsyncing after each write. Lines
 * that finish while a write is under way go out together in the next write
 * (group commit), so many signatures in flight cost one fsync per write, not
 * per line. A crash can leave at most a partial last line, which the next
 * run cuts off.
 */
class JsonlAppender {
  readonly #handle: FileHandle;
  #queue: { line: string; resolve: () => void; reject: (e: unknown) => void }[] = [];
  #writing = false;

  constructor(handle: FileHandle) {
    this.#handle = handle;
  }

  append(line: string): Promise<void> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ line, resolve, reject });
      if (!this.#writing) void this.#pump();
    });
  }

  async #pump(): Promise<void> {
    this.#writing = true;
    while (this.#queue.length > 0) {
      const batch = this.#queue;
      this.#queue = [];
      try {
        const data = Buffer.from(batch.map((b) => b.line).join(''), 'utf8');
        let off = 0;
        while (off < data.length) off += (await this.#handle.write(data, off, data.length - off)).bytesWritten;
        await this.#handle.datasync();
        for (const b of batch) b.resolve();
      } catch (e) {
        for (const b of batch) b.reject(e);
      }
    }
    this.#writing = false;
  }

  close(): Promise<void> {
    return this.#handle.close();
  }
}

/**
 * Reads what a previous run appended and returns the transaction hashes of
 * its complete lines, each of which must verify, under the key signing now,
 * as a record of its transaction: a line that does not (an edited line, a
 * file signed with another key, a file that is not this batch's output)
 * stops the batch with the output left as it is, instead of counting as
 * "already signed". A partial last line (the run died mid-write) is cut off.
 */
async function resumeJsonl(path: string, verifier: Verifier, concurrency: number): Promise<Map<string, Resumed>> {
  const done = new Map<string, Resumed>();
  let st: Awaited<ReturnType<typeof stat>>;
  try {
    st = await stat(path);
  } catch (e) {
    if ((e as { code?: string }).code === 'ENOENT') return done;
    throw new ErstError(
      'ERR_OUTPUT_WRITE',
      `cannot use ${path} as the output (${(e as { code?: string }).code ?? 'error'})`,
    );
  }
  // The output is read back and appended to: a FIFO or device would block
  // both (or never hold what was written), so only a regular file will do.
  if (!st.isFile()) {
    throw new ErstError(
      'ERR_OUTPUT_WRITE',
      `${path} is not a regular file; a batch's .jsonl output is read back to resume`,
      {
        details: { file: path },
      },
    );
  }
  const handle = await open(path, 'r+');
  try {
    let offset = 0;
    let complete = 0;
    // The lines in flight in the verifier, oldest first.
    const queue: { line: number; bytes: Uint8Array }[] = [];
    // Lines go to the verifier as they are read; results come back in order.
    async function* lines(): AsyncGenerator<Uint8Array> {
      const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
      for await (const chunk of handle.createReadStream({ autoClose: false, start: 0 }) as AsyncIterable<Buffer>) {
        for (const l of splitter.push(chunk)) {
          if ('tooLong' in l) throw notThisBatch(path, l.line, 'is too long to be an audit record');
          queue.push({ line: l.line, bytes: l.bytes });
          yield l.bytes;
        }
        const lastNl = chunk.lastIndexOf(0x0a);
        if (lastNl !== -1) complete = offset + lastNl + 1;
        offset += chunk.length;
      }
    }
    for await (const r of verifier.verifyStream(lines(), { concurrency })) {
      const { line, bytes } = queue.shift()!;
      if (!r.valid)
        throw notThisBatch(
          path,
          line,
          `does not verify as a record signed by this key (${r.errors[0]?.code ?? 'ERR_RECORD_UNKNOWN_FORMAT'})`,
        );
      const tx = r.transaction_hash;
      if (tx === null || !TX_HASH.test(tx)) throw notThisBatch(path, line, 'is not the record of a transaction');
      // A run never writes a transaction twice: a repeat is an edited file.
      const before = done.get(tx);
      if (before) throw notThisBatch(path, line, `repeats the transaction of line ${before.line}`);
      // 1.x records do not sign their transaction_hash: what ties the line to its
      // transaction is then its payload, checked against the input's when the line comes.
      done.set(tx, {
        line,
        payload: r.uncovered.includes('transaction_hash')
          ? payloadDigest((parseStrictJson(bytes) as JsonObject).payload!)
          : null,
      });
    }
    if (complete < offset) {
      // The tail after the last newline is a line a killed run did not finish.
      await handle.truncate(complete);
      await handle.sync();
    }
    return done;
  } finally {
    await handle.close();
  }
}

/** A transaction already in the output: its line, and for a 1.x record the digest of its payload. */
interface Resumed {
  line: number;
  payload: string | null;
}

function payloadDigest(payload: JsonValue): string {
  return createHash('sha256').update(canonicalize(payload)).digest('hex');
}

function notThisBatch(path: string, line: number, why: string): ErstError {
  return new ErstError(
    'ERR_OUTPUT_WRITE',
    `${path} line ${line} ${why}; not appending to it: move it aside, or give another --out`,
    { details: { file: path, line } },
  );
}

async function countLines(path: string): Promise<number | undefined> {
  try {
    if (!statSync(path).isFile()) return undefined;
    let n = 0;
    let last = 0x0a;
    for await (const chunk of createReadStream(path, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
      for (let i = chunk.indexOf(0x0a); i !== -1; i = chunk.indexOf(0x0a, i + 1)) n++;
      last = chunk[chunk.length - 1]!;
    }
    return last === 0x0a ? n : n + 1;
  } catch {
    return undefined;
  }
}

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const s = Math.round(seconds);
  return s >= 3600
    ? `${Math.floor(s / 3600)}:${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`
    : `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** The progress text: a bar with rate and ETA for a terminal, or one plain line for logs. */
export function progressLine(done: number, total: number | undefined, seconds: number, tty: boolean): string {
  const n = (x: number) => Math.round(x).toLocaleString('en-US');
  const rate = seconds > 0 ? done / seconds : 0;
  if (total === undefined || total === 0) return `erst: batch: ${n(done)} lines, ${n(rate)}/s`;
  const frac = Math.min(1, done / total);
  const eta = rate > 0 ? (total - done) / rate : Number.POSITIVE_INFINITY;
  if (!tty)
    return `erst: batch: ${n(done)} of ${n(total)} lines (${Math.round(frac * 100)}%), ${n(rate)}/s, ETA ${duration(eta)}`;
  const width = 30;
  const full = Math.round(frac * width);
  return `[${'#'.repeat(full)}${'.'.repeat(width - full)}] ${String(Math.round(frac * 100)).padStart(3)}% ${n(done)}/${n(total)} ${n(rate)}/s ETA ${duration(eta)}`;
}

/** A bar with rate and ETA on a terminal (stderr); a plain line every 5 s otherwise; nothing when quiet. */
class Progress {
  readonly #tty: boolean;
  readonly #quiet: boolean;
  readonly #started = performance.now();
  readonly #done: () => number;
  #total: number | undefined;
  #timer: NodeJS.Timeout | undefined;
  #drawn = false;

  constructor(quiet: boolean, done: () => number) {
    this.#quiet = quiet;
    this.#done = done;
    this.#tty = process.stderr.isTTY === true;
  }

  start(total: number | undefined): void {
    this.#total = total;
    if (this.#quiet) return;
    this.#timer = setInterval(() => this.#tick(), this.#tty ? 200 : 5000);
    this.#timer.unref();
  }

  #tick(): void {
    const line = progressLine(this.#done(), this.#total, (performance.now() - this.#started) / 1000, this.#tty);
    if (this.#tty) {
      process.stderr.write(`\r\x1b[2K${line}`);
      this.#drawn = true;
    } else {
      process.stderr.write(`${line}\n`);
    }
  }

  /** Clears the bar so that a message can be printed on its own line. */
  clear(): void {
    if (this.#drawn) {
      process.stderr.write('\r\x1b[2K');
      this.#drawn = false;
    }
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.clear();
  }
}

/** Keeps up to `limit` tasks running; `run` waits for a free place. */
class Limiter {
  #running = 0;
  #waiters: (() => void)[] = [];
  readonly #idle: (() => void)[] = [];

  constructor(readonly limit: number) {}

  async run(task: () => Promise<void>): Promise<void> {
    while (this.#running >= this.limit) await new Promise<void>((r) => this.#waiters.push(r));
    this.#running++;
    void task().finally(() => {
      this.#running--;
      this.#waiters.shift()?.();
      if (this.#running === 0) for (const r of this.#idle.splice(0)) r();
    });
  }

  async drain(): Promise<void> {
    while (this.#running > 0) await new Promise<void>((r) => this.#idle.push(r));
  }
}

/** `erst audit sign --batch`: see BATCH_HELP. Returns the exit code. */
export async function signBatch(argv: BatchArgs, openSigner: () => Promise<Signer>): Promise<number> {
  const input = argv.batch!;
  const schema = argv.schema as WritableSchema;
  const started = performance.now();
  const fromStdin = input === '-';
  // Opened before the signer, and only if it is a regular file: a FIFO would
  // block the open (and SIGTERM with it), a directory cannot be a batch.
  const inputHandle = fromStdin ? undefined : await openInputFile(input);

  const signer = await openSigner();
  const counts = { lines: 0, signed: 0, skipped: 0, done: 0 };
  const bad: BadLine[] = [];
  const progress = new Progress(argv.quiet === true, () => counts.done);
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    stopSignal = sig;
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  let appender: JsonlAppender | undefined;
  let fatal: unknown;
  try {
    const publicKey = await signer.publicKey();
    const verifier = new Verifier({ publicKeys: [publicKey] });
    let done = new Map<string, Resumed>();
    const outDir = argv['out-dir'];
    if (outDir) {
      try {
        mkdirSync(outDir, { recursive: true });
        // Temporary files of a run killed mid-write: never visible as records, safe to remove.
        for (const name of readdirSync(outDir))
          if (STALE_TEMP.test(name) && isAtomicTempName(name)) unlinkSync(join(outDir, name));
      } catch (e) {
        throw new ErstError(
          'ERR_OUTPUT_WRITE',
          `cannot use ${outDir} as the output directory (${(e as { code?: string }).code ?? 'error'})`,
        );
      }
    } else {
      done = await resumeJsonl(argv.out!, verifier, argv.concurrency);
      appender = new JsonlAppender(await open(argv.out!, 'a', 0o644));
    }

    progress.start(argv.quiet || fromStdin ? undefined : await countLines(input));
    const report = (b: BadLine): void => {
      bad.push(b);
      progress.clear();
      process.stderr.write(
        `${escapeForDisplay(`erst: ${fromStdin ? '<stdin>' : input} line ${b.line}: error ${b.code}: ${b.message}`)}\n`,
      );
    };
    const firstLine = new Map<string, number>();
    const limiter = new Limiter(argv.concurrency);

    const signOne = async (line: number, transactionHash: string, payload: JsonObject): Promise<void> => {
      try {
        if (outDir) {
          const path = join(outDir, `${transactionHash}.json`);
          if (existsSync(path)) {
            const r = await verifier.verify(await readFile(path));
            if (r.valid && r.transaction_hash === transactionHash) {
              counts.skipped++;
              return;
            }
            report({
              line,
              code: 'ERR_OUTPUT_WRITE',
              message: `${path} exists and does not verify as this transaction's record under the signing key (${r.errors[0]?.code ?? 'different transaction'}); not overwritten`,
            });
            return;
          }
          const record = await generateWithSigner(signer, { transactionHash, payload }, { schema });
          await writeFileAtomicAsync(path, `${JSON.stringify(record, null, 2)}\n`);
        } else {
          const record = await generateWithSigner(signer, { transactionHash, payload }, { schema });
          await appender!.append(`${JSON.stringify(record)}\n`);
        }
        counts.signed++;
      } catch (e) {
        if (isErstError(e) && errorCategory(e.code) === 'input') {
          report({ line, code: e.code, message: e.message });
          return;
        }
        // Signer and output failures stop the batch: the next lines would fail the same way.
        fatal ??= e;
      } finally {
        counts.done++;
      }
    };

    const splitter = new LineSplitter(DEFAULT_MAX_INPUT_BYTES);
    const handleLine = async (l: Line): Promise<void> => {
      counts.lines++;
      if ('tooLong' in l) {
        report({
          line: l.line,
          code: 'ERR_INPUT_TOO_LARGE',
          message: `line is ${l.tooLong} bytes, over the limit of ${DEFAULT_MAX_INPUT_BYTES}`,
        });
        counts.done++;
        return;
      }
      let doc: SignInput;
      try {
        doc = lineDocument(l.bytes);
      } catch (e) {
        if (!(e instanceof LineError)) throw e;
        report({ line: l.line, code: e.code, message: e.message });
        counts.done++;
        return;
      }
      const first = firstLine.get(doc.transactionHash);
      if (first !== undefined) {
        report({
          line: l.line,
          code: 'ERR_PAYLOAD_INVALID',
          message: `transaction_hash ${doc.transactionHash} repeats line ${first}`,
        });
        counts.done++;
        return;
      }
      firstLine.set(doc.transactionHash, l.line);
      const resumed = done.get(doc.transactionHash);
      if (resumed) {
        if (resumed.payload !== null && resumed.payload !== payloadDigest(doc.payload)) {
          report({
            line: l.line,
            code: 'ERR_OUTPUT_WRITE',
            message: `${argv.out} line ${resumed.line} claims this transaction_hash (which 1.x records do not sign) for another payload; not signed`,
          });
        } else {
          counts.skipped++;
        }
        counts.done++;
        return;
      }
      await limiter.run(() => signOne(l.line, doc.transactionHash, doc.payload));
    };

    const stream = inputHandle ? inputHandle.createReadStream({ highWaterMark: 1 << 20 }) : process.stdin;
    try {
      reading: for await (const chunk of stream as AsyncIterable<Buffer>) {
        for (const l of splitter.push(chunk)) {
          if (stopSignal || fatal) break reading;
          await handleLine(l);
        }
      }
      if (!stopSignal && !fatal) for (const l of splitter.end()) await handleLine(l);
    } finally {
      if (!fromStdin) stream.destroy();
    }
    await limiter.drain();
    if (outDir) fsyncDirectory(outDir);
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await appender?.close().catch(() => {});
    await signer.close?.();
  }

  const secs = (performance.now() - started) / 1000;
  const key = bytesToHex((await signer.publicKey()).raw);
  if (fatal) {
    if (isErstError(fatal)) throw fatal;
    throw new ErstError('ERR_SIGNER_FAILED', `signing failed: ${(fatal as Error).message}`, { cause: fatal });
  }
  if (!argv.quiet || stopSignal) {
    const parts = [
      `${counts.signed.toLocaleString('en-US')} signed`,
      `${counts.skipped.toLocaleString('en-US')} already signed`,
    ];
    if (bad.length > 0)
      parts.push(
        `${bad.length.toLocaleString('en-US')} bad (line${bad.length > 1 ? 's' : ''} ${bad
          .slice(0, 10)
          .map((b) => b.line)
          .join(', ')}${bad.length > 10 ? ', …' : ''})`,
      );
    const rate = secs > 0 ? Math.round(counts.signed / secs).toLocaleString('en-US') : '?';
    process.stderr.write(
      `erst: batch ${stopSignal ? `interrupted by ${stopSignal} (rerun to resume)` : 'done'}: ${counts.lines.toLocaleString('en-US')} lines: ${parts.join(', ')}; ${secs.toFixed(1)} s, ${rate}/s; ${schema} records, ${signer.algorithm} key ${key} -> ${argv['out-dir'] ?? argv.out}\n`,
    );
  }
  if (stopSignal) return stopSignal === 'SIGINT' ? 130 : 143;
  return bad.length > 0 ? EXIT.USAGE_OR_INPUT : EXIT.OK;
}
