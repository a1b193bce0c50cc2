import {
  type BadLine,
  type BatchProgress,
  MAX_CONCURRENCY,
  type SignBatchRun,
  type Timestamper,
  batchSummary,
  killHookFromEnv,
  logSummary,
  runSignBatch,
  streamBatchInput,
  tsaTimestamper,
} from '@erst/batch-sign';
import { type Signer, type WritableSchema, escapeForDisplay } from '@erst/core';
import { type ArgsOf, Progress, abortOnSignals } from '@erst/cli-harness';
import { loadTrustOptions } from '@erst/node-io';
import type { Argv } from 'yargs';
import { EXIT } from './exit.js';

/** The flags of `audit sign` that batch signing reads besides its own (`schema`: set by then, see audit-sign.ts). */
interface SignFlags {
  out?: string | undefined;
  payload?: string | undefined;
  'transaction-hash'?: string | undefined;
  schema?: string | undefined;
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
lines were bad (all others signed); 3 signer failure (the batch stops), or
lines without a timestamp token (reported, not written; wins over 2);
130/143 interrupted by SIGINT/SIGTERM; 70 a bug in erst (ERR_INTERNAL).
Rerun to resume after 3, 130, 143.
With --log DIR (made by erst log init), records are 2.1.0 with their
log_proof, written only once a checkpoint covering them is durable: one
checkpoint per batch, or per --checkpoint-every N records. Records wait in
OUTPUT.log-journal (fsynced) before their entries are logged, so a rerun
after a crash finishes them first: every input is logged exactly once.
With --tsa-url, records are 2.1.0 with a timestamp_token (RFC 3161); with
--log, each checkpoint is timestamped instead (the token in each proof's
extra line), and a checkpoint without one stops the batch (exit 3).`;

/** Flags for `erst audit sign --batch`; added to the sign command. */
export function withBatchOptions<T>(y: Argv<T>) {
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
    .option('concurrency', {
      type: 'number',
      default: 32,
      describe:
        'With --batch: records in flight at once (a software key without --log/--tsa-url signs on every core instead)',
    })
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
    .option('tsa-url', { type: 'string', describe: 'Timestamp each record (with --log: each checkpoint) at this TSA' })
    .option('tsa-timeout', { type: 'number', describe: 'With --tsa-url: ms per attempt (default 10000)' })
    .option('tsa-retries', { type: 'number', describe: 'With --tsa-url: retries after a failed attempt (default 2)' })
    .option('tsa-concurrency', { type: 'number', describe: 'With --batch --tsa-url: requests at once (default 8)' })
    .option('tsa-root', {
      type: 'string',
      array: true,
      nargs: 1,
      describe: 'With --tsa-url: check tokens under this root',
    })
    .group(['batch', 'out-dir', 'concurrency', 'quiet'], 'Batch signing:')
    .group(['log', 'record-signature', 'checkpoint-every'], 'Verifiable log:')
    .group(['tsa-url', 'tsa-timeout', 'tsa-retries', 'tsa-concurrency', 'tsa-root'], 'Trusted timestamp:')
    .check((a) => {
      const args = a as unknown as BatchArgs;
      const v21 = args.log !== undefined ? '--log' : args['tsa-url'] !== undefined ? '--tsa-url' : undefined;
      if (v21 && args.schema !== undefined && args.schema !== '2.1.0')
        throw new Error(`${v21} writes 2.1.0 records, not --schema ${args.schema}`);
      const stray = ['tsa-timeout', 'tsa-retries', 'tsa-concurrency', 'tsa-root'].find((f) => f in a);
      if (stray && args['tsa-url'] === undefined) throw new Error(`--${stray} goes with --tsa-url`);
      if (args.log === undefined) {
        if (!args['record-signature']) throw new Error('--no-record-signature goes with --log');
        if (args['checkpoint-every'] !== undefined) throw new Error('--checkpoint-every goes with --batch --log');
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
    .epilogue(BATCH_HELP);
}

export type BatchArgs = ArgsOf<typeof withBatchOptions> & SignFlags;

/** `erst audit sign --batch`: see BATCH_HELP. Returns the exit code. */
export async function signBatchCommand(argv: BatchArgs, openSigner: () => Promise<Signer>): Promise<number> {
  const started = performance.now();
  const output = argv['out-dir'] ?? argv.out!;
  const input = argv.batch === '-' ? streamBatchInput(process.stdin, '<stdin>') : argv.batch!;
  const progress = new Progress();
  const stop = abortOnSignals();
  const report = (what: BadLine) => {
    progress.clear();
    const name = typeof input === 'string' ? input : input.name;
    process.stderr.write(
      `${escapeForDisplay(`erst: ${name} line ${what.line}: error ${what.code}: ${what.message}`)}\n`,
    );
  };
  let run: SignBatchRun;
  try {
    run = await runSignBatch({
      input,
      openSigner,
      output: argv['out-dir'] ? { dir: argv['out-dir'] } : { jsonl: argv.out! },
      schema: argv.schema as WritableSchema,
      log: argv.log,
      checkpointEvery: argv['checkpoint-every'],
      onLogStep: killHookFromEnv(),
      recordSignature: argv['record-signature'],
      timestamper: await openTimestamper(argv),
      concurrency: argv.concurrency,
      signal: stop.signal,
      onBadLine: report,
      ...(argv.quiet ? {} : { onProgress: (p: BatchProgress) => progress.update(p) }),
    });
  } finally {
    progress.stop();
    stop.dispose();
  }
  const { result } = run;
  const stoppedBy = stop.stoppedBy();
  if (!argv.quiet || stoppedBy) {
    const seconds = (performance.now() - started) / 1000;
    const what = { seconds, stoppedBy, schema: argv.schema!, algorithm: run.algorithm, key: run.key, output };
    let line = `erst: ${batchSummary(result, what)}`;
    if (run.log) {
      const log = logSummary(argv.log!, run.log.origin, run.log.stats, argv['hsm-provider'] === 'pkcs11');
      line += `; ${escapeForDisplay(log)}`;
    }
    process.stderr.write(`${line}\n`);
  }
  if (stoppedBy) return stop.exitCode()!;
  if (result.untimestamped > 0) return EXIT.SIGNER;
  return result.bad > 0 ? EXIT.USAGE_OR_INPUT : EXIT.OK;
}

/** What --tsa-url asks for (nothing without it); --tsa-root PEMs check each new token before it is written. */
export async function openTimestamper(a: BatchArgs): Promise<Timestamper | undefined> {
  if (a['tsa-url'] === undefined) return undefined;
  const { tsaRoots } = loadTrustOptions({ tsaRoots: a['tsa-root'] });
  const options = { timeoutMs: a['tsa-timeout'], retries: a['tsa-retries'], tsaConcurrency: a['tsa-concurrency'] };
  return tsaTimestamper({ tsaUrl: a['tsa-url'], ...options, tsaRoots });
}
