import {
  type BatchProgress,
  type BatchResult,
  MAX_CONCURRENCY,
  type LogStage,
  type LogStep,
  directorySink,
  journalPath,
  jsonlSink,
  logStage,
  openBatchInput,
  openSignerLog,
  signBatch,
  streamBatchInput,
} from '@erst/batch-sign';
import { existsSync } from 'node:fs';
import { ErstError, type Signer, type WritableSchema, bytesToHex, escapeForDisplay } from '@erst/core';
import { Progress } from '@erst/cli-harness';
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
  /** Set by the handler when not given: 2.0.0, or 2.1.0 with --log. */
  schema?: string;
  log?: string;
  'checkpoint-every'?: number;
  'record-signature': boolean;
  'hsm-provider': string;
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
Rerun to resume after 3, 130, 143.
With --log DIR (made by erst log init), records are 2.1.0 with their
log_proof, written only once a checkpoint covering them is durable: one
checkpoint per batch, or per --checkpoint-every N records. Records wait in
OUTPUT.log-journal (fsynced) before their entries are logged, so a rerun
after a crash finishes them first: every input is logged exactly once.`;

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
    .option('log', {
      type: 'string',
      normalize: true,
      describe: 'Append each record to this log (erst log init) and write it as 2.1.0 with its log_proof',
    })
    .option('record-signature', {
      type: 'boolean',
      default: true,
      describe: "With --log: --no-record-signature leaves out each record's own signature (the checkpoint seals it)",
    })
    .option('checkpoint-every', {
      type: 'number',
      describe: 'With --batch --log: sign a checkpoint every N records (default: one per batch)',
    })
    .group(['batch', 'out-dir', 'concurrency', 'quiet'], 'Batch signing:')
    .group(['log', 'record-signature', 'checkpoint-every'], 'Verifiable log:')
    .check((a) => {
      const args = a as unknown as BatchArgs;
      if (args.log === undefined) {
        if (!args['record-signature']) throw new Error('--no-record-signature goes with --log');
        if (args['checkpoint-every'] !== undefined) throw new Error('--checkpoint-every goes with --batch --log');
      } else if (args.schema !== undefined && args.schema !== '2.1.0') {
        throw new Error(`--log writes 2.1.0 records, not --schema ${args.schema}`);
      }
      if (args['checkpoint-every'] !== undefined) {
        if (args.batch === undefined) throw new Error('--checkpoint-every goes with --batch --log');
        const n = args['checkpoint-every'];
        if (!Number.isSafeInteger(n) || n < 1)
          throw new Error('--checkpoint-every must be a whole number of at least 1');
      }
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
      if (!Number.isInteger(args.concurrency) || args.concurrency < 1 || args.concurrency > MAX_CONCURRENCY) {
        throw new Error(`--concurrency must be a whole number from 1 to ${MAX_CONCURRENCY}`);
      }
      return true;
    })
    .epilogue(BATCH_HELP) as unknown as Argv<T & BatchArgs>;
}

/** `erst audit sign --batch`: see BATCH_HELP. Opens the input before the signer. Returns the exit code. */
export async function signBatchCommand(argv: BatchArgs, openSigner: () => Promise<Signer>): Promise<number> {
  const started = performance.now();
  const journal = journalPath(argv['out-dir'] ?? argv.out!);
  // Without the log, the journal's records would be signed again: logged once, but written twice differently.
  if (argv.log === undefined && existsSync(journal)) {
    throw new ErstError(
      'ERR_USAGE',
      `${journal} holds records of an interrupted --log batch: run it again with the same --log to finish them`,
    );
  }
  const fromStdin = argv.batch === '-';
  // Opened before the signer, and only if it is a regular file: a FIFO would
  // block the open (and SIGTERM with it), a directory cannot be a batch.
  const input = fromStdin ? streamBatchInput(process.stdin, '<stdin>') : await openBatchInput(argv.batch!);
  let signer: Signer;
  try {
    signer = await openSigner();
  } catch (e) {
    await input.close();
    throw e;
  }
  const progress = new Progress();
  const stop = new AbortController();
  let stopSignal: NodeJS.Signals | undefined;
  const onSignal = (sig: NodeJS.Signals) => {
    stopSignal = sig;
    stop.abort();
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  const output = argv['out-dir'] ?? argv.out!;
  let key = '';
  let result: BatchResult;
  let logged: { stage: LogStage; origin: string } | undefined;
  try {
    key = bytesToHex((await signer.publicKey()).raw);
    const log = argv.log === undefined ? undefined : await openSignerLog(argv.log, signer);
    try {
      if (log) {
        const stage = logStage(log, { checkpointEvery: argv['checkpoint-every'], onStep: testKillHook() });
        logged = { stage, origin: log.origin };
      }
      result = await signBatch({
        signer,
        input,
        output: argv['out-dir'] ? directorySink(argv['out-dir']) : jsonlSink(argv.out!),
        schema: argv.schema as WritableSchema,
        recordSignature: argv['record-signature'],
        ...(logged ? { stage: logged.stage } : {}),
        concurrency: argv.concurrency,
        signal: stop.signal,
        onBadLine: (b) => {
          progress.clear();
          process.stderr.write(
            `${escapeForDisplay(`erst: ${input.name} line ${b.line}: error ${b.code}: ${b.message}`)}\n`,
          );
        },
        ...(argv.quiet ? {} : { onProgress: (p: BatchProgress) => progress.update(p) }),
      });
    } finally {
      await log?.close();
    }
  } finally {
    progress.stop();
    process.removeListener('SIGINT', onSignal);
    process.removeListener('SIGTERM', onSignal);
    await signer.close?.();
    await input.close();
  }
  if (!argv.quiet || stopSignal) {
    const secs = (performance.now() - started) / 1000;
    const what = { schema: argv.schema!, algorithm: signer.algorithm, key, output };
    let line = summaryLine(result, secs, stopSignal, what);
    if (logged) {
      const log = logLine(argv.log!, logged.origin, logged.stage, argv['hsm-provider'] === 'pkcs11');
      line += `; ${escapeForDisplay(log)}`;
    }
    process.stderr.write(`${line}\n`);
  }
  if (stopSignal) return stopSignal === 'SIGINT' ? 130 : 143;
  return result.bad > 0 ? EXIT.USAGE_OR_INPUT : EXIT.OK;
}

/**
 * What the log got, and the signatures the key made: a record's own and one
 * per checkpoint ("2,000 records, 4 checkpoints, 4 token signatures"), which
 * is what a slow token's time goes to.
 */
function logLine(dir: string, origin: string, stage: LogStage, token: boolean): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const s = stage.stats();
  const plural = (x: number, word: string) => `${n(x)} ${word}${x === 1 ? '' : 's'}`;
  const signatures = s.recordSignatures + s.checkpoints;
  return `log ${dir} (${origin}, size ${n(s.size)}): ${plural(s.appended, 'record')}, ${plural(s.checkpoints, 'checkpoint')}, ${plural(signatures, token ? 'token signature' : 'key signature')}`;
}

/**
 * ERST_TEST_KILL_AT=<step>:<n> SIGKILLs erst right after the n-th `step` of
 * the log stage (journaled, checkpointed, released, closing): how the tests
 * crash a batch at each point docs/batch.md describes.
 */
function testKillHook(): ((step: LogStep) => void) | undefined {
  const at = process.env.ERST_TEST_KILL_AT;
  if (!at) return undefined;
  const [step, count] = at.split(':');
  let seen = 0;
  return (s) => {
    if (s === step && ++seen >= Number(count ?? 1)) process.kill(process.pid, 'SIGKILL');
  };
}

/** The line that ends a batch: counts, rate, format, key and output. */
function summaryLine(
  result: BatchResult,
  secs: number,
  stopSignal: NodeJS.Signals | undefined,
  what: { schema: string; algorithm: string; key: string; output: string },
): string {
  const n = (x: number) => x.toLocaleString('en-US');
  const parts = [`${n(result.signed)} signed`, `${n(result.skipped)} already signed`];
  if (result.recovered > 0) parts.push(`${n(result.recovered)} finished from the log journal`);
  const bad = result.badLines;
  if (bad.length > 0) {
    const lines = `${bad
      .slice(0, 10)
      .map((b) => b.line)
      .join(', ')}${bad.length > 10 ? ', …' : ''}`;
    parts.push(`${n(bad.length)} bad (line${bad.length > 1 ? 's' : ''} ${lines})`);
  }
  const rate = secs > 0 ? n(Math.round(result.signed / secs)) : '?';
  const how = stopSignal ? `interrupted by ${stopSignal} (rerun to resume)` : 'done';
  return `erst: batch ${how}: ${n(result.lines)} lines: ${parts.join(', ')}; ${secs.toFixed(1)} s, ${rate}/s; ${what.schema} records, ${what.algorithm} key ${what.key} -> ${what.output}`;
}
