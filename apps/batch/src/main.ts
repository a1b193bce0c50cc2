import { availableParallelism } from 'node:os';
import { isatty } from 'node:tty';
import {
  type ArgsOf,
  type CliApp,
  Progress,
  type RunContext,
  TRUST_FLAGS,
  errorReporting,
  handle,
  helpExample,
  packageVersion,
  run,
  trustOptions,
  withTrustOptions,
} from '@erst/cli-harness';
import { DEFAULT_MAX_INPUT_BYTES, type ErrorCode, ErstError } from '@erst/core';
import { InMemorySigner } from '@erst/signer-memory';
import type { Argv } from 'yargs';
import {
  type Report,
  type SummaryInfo as RunInfo,
  type VerifyRunOptions,
  mergeReports,
  parseShard,
  readReport,
  runVerify,
  stderrLines,
  textSummary as humanSummary,
  writeReports,
} from '@erst/batch-verify';
import { FLAG_FOR } from './flags.js';

const VERSION = packageVersion(new URL('../package.json', import.meta.url));

/** Exit codes (docs/design.md): the contract cron jobs and CI depend on. */
export const EXIT = { OK: 0, FAILED: 1, USAGE_OR_INPUT: 2, INTERNAL: 70 } as const;

// Lines stay within 78 columns: yargs re-wraps longer ones on an 80-column
// terminal and loses their indentation.
const EXIT_HELP = `Exit codes:
  0  every record is valid (and, with --state, nothing is missing or
     changed; with --log, archive and log match both ways)
  1  a record failed: invalid, untrusted, unparsable, a damaged archive
     member; or, with --state, a record is missing or changed, or the
     state file was tampered with (or, with --expect-state, is not the
     state named); or, with --log, the log fails, a log entry has no
     record, a record is not in the log, or the log was rewritten or
     rolled back since the state's checkpoint
  2  unreadable input (a missing path, an archive that cannot be opened,
     an input that holds no record, a log that cannot be read) or bad
     usage; this wins over 1, because the run did not see everything
  70 internal error (ERR_INTERNAL): a bug in erst-batch, never bad input;
     please report it. This wins over everything
  130, 143  stopped by SIGINT (Ctrl-C) or SIGTERM: no report is written
     and the state file is left as it was`;

/**
 * How erst-batch shows an error (`erst-batch: error <code>: ...`, flags for
 * the options libraries name) and its exit status: no signer errors of its
 * own, so every category but verification and internal is 2.
 */
const ERRORS = errorReporting({
  name: 'erst-batch',
  exitCodes: {
    verification: EXIT.FAILED,
    input: EXIT.USAGE_OR_INPUT,
    usage: EXIT.USAGE_OR_INPUT,
    signer: EXIT.USAGE_OR_INPUT,
    internal: EXIT.INTERNAL,
  },
  flags: { ...TRUST_FLAGS, ...FLAG_FOR },
});

export const { exitCodeFor, formatError } = ERRORS;

/** The progress bar `verify` draws on a terminal. */
const PROGRESS_LABELS = { label: 'erst-batch: verify', unit: 'records' };

function withOutputOptions<T>(y: Argv<T>) {
  return y
    .option('json', { type: 'string', nargs: 1, describe: 'Write the JSON report here (- for stdout)' })
    .option('junit', { type: 'string', normalize: true, describe: 'Write a JUnit XML report here (for CI)' })
    .option('html', { type: 'string', normalize: true, describe: 'Write a self-contained HTML report here' })
    .option('quiet', {
      type: 'boolean',
      alias: 'q',
      describe: 'No human summary on stdout (errors still go to stderr)',
    })
    .option('reproducible', {
      type: 'boolean',
      describe: "Leave the run's date and the tool version out of the HTML report (byte-identical reports)",
    })
    .group(['json', 'junit', 'html', 'quiet', 'reproducible'], 'Reports:');
}

/** Writes the report files the flags name, then the human summary and the failures' lines. */
function writeOutputs(report: Report, argv: OutputArgs, info: RunInfo): void {
  writeReports(report, argv, argv.reproducible ? {} : { generatedAt: new Date(), version: VERSION });
  // With the JSON on stdout, the summary moves to stderr.
  if (!argv.quiet) (argv.json === '-' ? process.stderr : process.stdout).write(humanSummary(report, info));
  process.stderr.write(stderrLines(report, (code, text) => formatError(new ErstError(code as ErrorCode, text))));
}

/** The run a stop signal interrupts, for the line it prints: set while `runVerify` reads and verifies. */
let running: { progress: Progress | undefined; state: boolean } | undefined;

/** The line printed when SIGINT or SIGTERM stops erst-batch; the progress bar is cleared first. */
export function interruptedLine(signal: 'SIGINT' | 'SIGTERM'): string {
  running?.progress?.stop();
  const what = running ? `: no report written${running.state ? ', state file unchanged' : ''}` : '';
  return `erst-batch: interrupted by ${signal}${what}\n`;
}

async function verifyHandler(argv: VerifyArgs): Promise<number> {
  const started = performance.now();
  // The checks runVerify cannot make: it is given no list to find empty, and no state options without a state.
  if (!argv.inputs?.length)
    throw new ErstError('ERR_USAGE', 'name at least one directory, .jsonl, .tar or .tar.gz to verify');
  if ((argv['state-key'] || argv['init-state'] || argv['expect-state'] !== undefined) && !argv.state) {
    throw new ErstError('ERR_USAGE', '--state-key, --init-state and --expect-state go with --state <file>');
  }
  const workers = argv.workers ?? availableParallelism();
  const key = argv['state-key']
    ? InMemorySigner.fromKeyFile(argv['state-key'], (m) => process.stderr.write(`erst-batch: warning: ${m}\n`))
    : undefined;
  const expect = argv['expect-state'];
  const state = argv.state
    ? {
        path: argv.state,
        init: argv['init-state'] === true,
        ...(key ? { key } : {}),
        ...(expect !== undefined ? { expect } : {}),
      }
    : undefined;
  // This thread's stderr is a pipe to the main thread: whether it reaches a terminal is asked of fd 2 itself.
  const progress = argv.quiet || !isatty(2) ? undefined : new Progress(PROGRESS_LABELS, process.stderr, true);
  const options: VerifyRunOptions = {
    inputs: argv.inputs,
    verify: trustOptions(argv),
    workers,
    shard: argv.shard !== undefined ? parseShard(argv.shard) : null,
    maxBytes: argv['max-bytes'],
    allowEmpty: argv['allow-empty'] === true,
    full: argv.full === true,
    ...(argv.log !== undefined ? { log: argv.log } : {}),
    ...(state ? { state } : {}),
    ...(progress ? { onProgress: (p) => progress.update(p) } : {}),
  };
  running = { progress, state: argv.state !== undefined };
  let verified: Report;
  // The summary says how many verifier threads ran: none, for a small run or a rerun that kept every result.
  let threads = workers;
  const onWorkers = (n: number) => {
    threads = n;
  };
  try {
    verified = await runVerify({ ...options, onWorkers });
  } finally {
    progress?.stop();
    running = undefined;
  }
  // The library's messages about the state file and empty inputs name options (`state.key`, `allowEmpty`): here,
  // flags. Messages about records quote the archive, whose text must never be rewritten.
  const ours = (f: Report['failures'][number]): boolean => f.kind === 'state' || f.code === 'ERR_ARCHIVE_EMPTY';
  const failures = verified.failures.map((f) => (ours(f) ? { ...f, message: ERRORS.inFlagTerms(f.message) } : f));
  const report: Report = { ...verified, failures };
  const seconds = (performance.now() - started) / 1000;
  writeOutputs(report, argv, { seconds, workers: threads });
  if (argv.stats) {
    const usage = process.resourceUsage();
    process.stderr.write(
      `${JSON.stringify({ erst_batch_stats: { records: report.totals.records, seconds, workers, max_rss_mb: usage.maxRSS / 1024 } })}\n`,
    );
  }
  return report.exit_code;
}

async function mergeHandler(argv: MergeArgs): Promise<number> {
  // No report at all is refused by mergeReports (`reports`).
  const reports = (argv.reports ?? []).map((name) => ({ name, report: readReport(name) }));
  const merged = mergeReports(reports);
  writeOutputs(merged, argv, {});
  return merged.exit_code;
}

/** Adds erst-batch's commands to the parser the harness set up. */
function commands(parser: Argv, ctx: RunContext): Argv {
  return parser
    .demandCommand(1, 'Name a command: verify or merge.')
    .command(
      'verify [inputs..]',
      'Verify every record in directories, .jsonl files and .tar / .tar.gz archives',
      verifyOptions,
      handle(ctx, verifyHandler),
    )
    .command(
      'merge [reports..]',
      'Combine shard reports (--json of each shard) into one',
      mergeOptions,
      handle(ctx, mergeHandler),
    );
}

/** The flags `verify` takes. */
function verifyOptions(y: Argv) {
  return withOutputOptions(withTrustOptions(y))
    .positional('inputs', {
      type: 'string',
      array: true,
      describe: 'Directories (every *.json below them), .json, .jsonl, .tar, .tar.gz or .tgz files',
    })
    .option('workers', { type: 'number', describe: 'Verifier threads (default: the number of cores)' })
    .option('state', {
      type: 'string',
      normalize: true,
      describe: 'State file: report records missing, changed or new since the run that wrote it, then update it',
    })
    .option('state-key', {
      type: 'string',
      normalize: true,
      describe: 'Ed25519 PKCS#8 PEM key that signs the state file and checks the previous one',
    })
    .option('init-state', {
      type: 'boolean',
      describe: 'With --state-key: allow a first run without a state file',
    })
    .option('expect-state', {
      type: 'string',
      describe:
        'The digest the previous run printed for its state (kept outside the archive): any other state file, older or not, fails with ERR_STATE_ROLLBACK',
    })
    .option('full', {
      type: 'boolean',
      describe:
        'With --state-key: verify every record again, even those whose bytes the signed state says a previous run verified under the same trust',
    })
    .option('allow-empty', {
      type: 'boolean',
      describe: 'Pass even if an input holds no record (otherwise ERR_ARCHIVE_EMPTY, exit 2)',
    })
    .option('shard', {
      type: 'string',
      describe: "Verify only shard K of N (1-based), split by a hash of each record's source name",
    })
    .option('max-bytes', {
      type: 'number',
      default: DEFAULT_MAX_INPUT_BYTES,
      describe: 'Largest record accepted, in bytes',
    })
    .option('log', {
      type: 'string',
      describe:
        'Verifiable log (directory or http(s) URL) the archive must match both ways, under --log-key: every logged record at its index, every entry with a record',
    })
    .option('stats', { type: 'boolean', hidden: true })
    .group(
      [
        'workers',
        'shard',
        'state',
        'state-key',
        'init-state',
        'expect-state',
        'full',
        'allow-empty',
        'max-bytes',
        'log',
      ],
      'Run:',
    )
    .example([
      ...helpExample(
        ['$0 verify archive/ logs.jsonl old.tar.gz --trust trust.json', '--json report.json'],
        'Verify everything against a trust file',
      ),
      ...helpExample(
        ['$0 verify /archive --public-key @signing.pub --html report.html', '--state state.json --state-key state.pem'],
        'Nightly: also catch deleted or replaced logs',
      ),
      ...helpExample(['$0 verify /archive --trust trust.json --shard 2/8', '--json shard-2.json'], 'One of 8 machines'),
    ])
    .epilogue(EXIT_HELP);
}

/** The flags `merge` takes. */
function mergeOptions(y: Argv) {
  return withOutputOptions(y)
    .positional('reports', { type: 'string', array: true, describe: 'JSON reports of every shard' })
    .example(
      helpExample('$0 merge shard-*.json --json report.json --html report.html', 'One report for the whole archive'),
    )
    .epilogue(
      `${EXIT_HELP}\nMerging fails (exit 2) unless every shard 1..N is given exactly once, with the same inputs and trust.`,
    );
}

type VerifyArgs = ArgsOf<typeof verifyOptions>;
type MergeArgs = ArgsOf<typeof mergeOptions>;
type OutputArgs = Omit<MergeArgs, 'reports'>;

const ERST_BATCH: CliApp = {
  name: 'erst-batch',
  description: 'Re-verify whole archives of erst audit logs on every core, for nightly audits.',
  version: VERSION,
  errors: ERRORS,
  commands,
};

/** `erst-batch` on `args`: its exit status. `columns`: the terminal's width, for --help (none when not a terminal). */
export function main(args: string[], columns = process.stdout.columns): Promise<number> {
  return run(ERST_BATCH, args, columns);
}
