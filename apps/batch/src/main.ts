import { availableParallelism } from 'node:os';
import {
  type CliApp,
  type RunContext,
  TRUST_FLAGS,
  type TrustArgs,
  errorReporting,
  handle,
  helpExample,
  packageVersion,
  run,
  trustOptions,
  withTrustOptions,
} from '@erst/cli-harness';
import { DEFAULT_MAX_INPUT_BYTES, type ErrorCode, ErstError } from '@erst/core';
import { writeOutput } from '@erst/node-io';
import { InMemorySigner } from '@erst/signer-memory';
import type { Argv } from 'yargs';
import {
  type Report,
  htmlReport,
  isStateDigest,
  junitXml,
  mergeReports,
  parseShard,
  readReport,
  runVerify,
} from '@erst/batch-verify';
import { FLAG_FOR, reportInFlagTerms } from './flags.js';
import { type RunInfo, humanSummary, terminalSafe } from './summary.js';

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
     please report it. This wins over everything`;

interface OutputArgs {
  json?: string;
  junit?: string;
  html?: string;
  quiet?: boolean;
  reproducible?: boolean;
}

interface VerifyArgs extends TrustArgs, OutputArgs {
  inputs: string[];
  workers?: number;
  state?: string;
  'state-key'?: string;
  'init-state'?: boolean;
  'expect-state'?: string;
  'allow-empty'?: boolean;
  shard?: string;
  'max-bytes': number;
  stats?: boolean;
  log?: string;
}

interface MergeArgs extends OutputArgs {
  reports: string[];
}

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

function withOutputOptions<T>(y: Argv<T>): Argv<T & OutputArgs> {
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
    .group(['json', 'junit', 'html', 'quiet', 'reproducible'], 'Reports:') as Argv<T & OutputArgs>;
}

function writeOutputs(report: Report, argv: OutputArgs, info: RunInfo): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (argv.json) writeOutput(argv.json, json);
  if (argv.junit) writeOutput(argv.junit, junitXml(report));
  if (argv.html)
    writeOutput(argv.html, htmlReport(report, argv.reproducible ? {} : { generatedAt: new Date(), version: VERSION }));
  if (!argv.quiet) {
    // With the JSON on stdout, the summary moves to stderr.
    (argv.json === '-' ? process.stderr : process.stdout).write(humanSummary(report, info));
  }
  process.stderr.write(stderrLines(report));
}

/**
 * What must reach stderr even with --quiet: every input (or log) that could
 * not be read (the run saw less than it was asked to), every record that hit a bug
 * (ERR_INTERNAL), and the digest of the state
 * left in place, for the next run's --expect-state.
 */
export function stderrLines(report: Report): string {
  const out: string[] = [];
  for (const f of report.failures) {
    const logUnreadable = f.kind === 'log' && report.log?.status === 'unreadable';
    if (
      f.kind === 'unreadable' ||
      logUnreadable ||
      f.code === 'ERR_INTERNAL' ||
      (f.kind === 'state' && f.code === 'ERR_STATE_ROLLBACK')
    )
      out.push(`${formatError(new ErstError(f.code as ErrorCode, `${f.source}: ${f.message}`))}\n`);
  }
  for (const s of report.state?.digests ?? []) {
    out.push(
      `erst-batch: state ${s.file}: sequence ${s.sequence}, digest ${s.digest}${report.state?.written ? '' : ' (not replaced by this run)'}\n`,
    );
  }
  return out.map(terminalSafe).join('');
}

async function verifyHandler(argv: VerifyArgs): Promise<number> {
  const started = performance.now();
  if (argv.inputs.length === 0)
    throw new ErstError('ERR_USAGE', 'name at least one directory, .jsonl, .tar or .tar.gz to verify');
  const workers = argv.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new ErstError('ERR_USAGE', `--workers must be a whole number from 1 to 1024, not ${argv.workers}`);
  }
  if (!Number.isInteger(argv['max-bytes']) || argv['max-bytes'] < 1)
    throw new ErstError('ERR_USAGE', '--max-bytes must be a positive whole number');
  if ((argv['state-key'] || argv['init-state'] || argv['expect-state'] !== undefined) && !argv.state) {
    throw new ErstError('ERR_USAGE', '--state-key, --init-state and --expect-state go with --state <file>');
  }
  const expect = argv['expect-state'];
  if (expect !== undefined && !isStateDigest(expect)) {
    throw new ErstError(
      'ERR_USAGE',
      '--expect-state takes the 64 lowercase hex digest a previous run printed ("erst-batch: state ...: digest <hex>")',
    );
  }
  if (argv.log !== undefined && (argv['log-key'] ?? []).length === 0) {
    throw new ErstError('ERR_USAGE', '--log goes with --log-key <verifier key>: the key that signs the log');
  }
  const shard = argv.shard !== undefined ? parseShard(argv.shard) : null;
  const key = argv['state-key']
    ? InMemorySigner.fromKeyFile(argv['state-key'], (m) => process.stderr.write(`erst-batch: warning: ${m}\n`))
    : undefined;
  const verified = await runVerify({
    inputs: argv.inputs,
    verify: trustOptions(argv),
    workers,
    shard,
    maxBytes: argv['max-bytes'],
    allowEmpty: argv['allow-empty'] === true,
    ...(argv.log !== undefined ? { log: argv.log } : {}),
    ...(argv.state
      ? {
          state: {
            path: argv.state,
            init: argv['init-state'] ?? false,
            ...(key ? { key } : {}),
            ...(expect !== undefined ? { expect } : {}),
          },
        }
      : {}),
  });
  // Its messages about the state file name options (`state.key`): here they are flags.
  const report = reportInFlagTerms(verified, ERRORS.inFlagTerms);
  const seconds = (performance.now() - started) / 1000;
  writeOutputs(report, argv, { seconds, workers });
  if (argv.stats) {
    const usage = process.resourceUsage();
    process.stderr.write(
      `${JSON.stringify({ erst_batch_stats: { records: report.totals.records, seconds, workers, max_rss_mb: usage.maxRSS / 1024 } })}\n`,
    );
  }
  return report.exit_code;
}

async function mergeHandler(argv: MergeArgs): Promise<number> {
  if (argv.reports.length === 0) throw new ErstError('ERR_USAGE', 'name the shard reports to merge');
  const reports = argv.reports.map((name) => ({ name, report: readReport(name) }));
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
      (y: Argv) =>
        withOutputOptions(withTrustOptions(y))
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
            ['workers', 'shard', 'state', 'state-key', 'init-state', 'expect-state', 'allow-empty', 'max-bytes', 'log'],
            'Run:',
          )
          .example(
            helpExample(
              ['$0 verify archive/ logs.jsonl old.tar.gz --trust trust.json', '--json report.json'],
              'Verify everything against a trust file',
            ),
          )
          .example(
            helpExample(
              [
                '$0 verify /archive --public-key @signing.pub --html report.html',
                '--state state.json --state-key state.pem',
              ],
              'Nightly: also catch deleted or replaced logs',
            ),
          )
          .example(
            helpExample(
              ['$0 verify /archive --trust trust.json --shard 2/8', '--json shard-2.json'],
              'One of 8 machines',
            ),
          )
          .epilogue(EXIT_HELP),
      handle(ctx, (argv) => verifyHandler(argv as unknown as VerifyArgs)),
    )
    .command(
      'merge [reports..]',
      'Combine shard reports (--json of each shard) into one',
      (y: Argv) =>
        withOutputOptions(y)
          .positional('reports', { type: 'string', array: true, describe: 'JSON reports of every shard' })
          .example(
            helpExample(
              '$0 merge shard-*.json --json report.json --html report.html',
              'One report for the whole archive',
            ),
          )
          .epilogue(
            `${EXIT_HELP}\nMerging fails (exit 2) unless every shard 1..N is given exactly once, with the same inputs and trust.`,
          ),
      handle(ctx, (argv) => mergeHandler(argv as unknown as MergeArgs)),
    );
}

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
