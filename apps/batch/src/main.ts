import { createRequire } from 'node:module';
import { availableParallelism } from 'node:os';
import { DEFAULT_MAX_INPUT_BYTES, ErstError, errorCategory, isErstError } from '@erst/core';
import { type TrustArgs, readInputFile, trustOptions, withTrustOptions, writeFileAtomic } from '@erst/node-io';
import { InMemorySigner } from '@erst/signer-memory';
import yargs, { type Argv } from 'yargs';
import { htmlReport } from './html.js';
import { junitXml } from './junit.js';
import { checkReport, mergeReports } from './merge.js';
import type { Report } from './report.js';
import { runVerify } from './run.js';
import { parseShard } from './shard.js';
import { type RunInfo, humanSummary } from './summary.js';

// The package's own version (yargs would look for the package.json of the working directory).
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;

/** Exit codes (DESIGN.md): the contract cron jobs and CI depend on. */
export const EXIT = { OK: 0, FAILED: 1, USAGE_OR_INPUT: 2 } as const;

const EXIT_HELP = `Exit codes:
  0  every record is valid (and, with --state, nothing is missing or changed)
  1  a record failed: invalid, untrusted, unparsable, a damaged archive member;
     or, with --state, a record is missing or changed, or the state file was tampered with
  2  unreadable input (a missing path, an archive that cannot be opened) or bad usage;
     this wins over 1, because the run did not see everything`;

interface OutputArgs {
  json?: string;
  junit?: string;
  html?: string;
  quiet?: boolean;
}

interface VerifyArgs extends TrustArgs, OutputArgs {
  inputs: string[];
  workers?: number;
  state?: string;
  'state-key'?: string;
  'init-state'?: boolean;
  shard?: string;
  'max-bytes': number;
  stats?: boolean;
}

interface MergeArgs extends OutputArgs {
  reports: string[];
}

export function exitCodeFor(error: unknown): number {
  return isErstError(error) && errorCategory(error.code) === 'verification' ? EXIT.FAILED : EXIT.USAGE_OR_INPUT;
}

/** One line a person can act on: code and message, never a stack trace. */
export function formatError(error: unknown): string {
  if (isErstError(error)) return `erst-batch: error ${error.code}: ${error.message}`;
  const msg = error instanceof Error ? error.message : String(error);
  return `erst-batch: error ERR_INTERNAL: ${msg} (this is a bug; please report it)`;
}

function withOutputOptions<T>(y: Argv<T>): Argv<T & OutputArgs> {
  return y
    .option('json', { type: 'string', nargs: 1, describe: 'Write the JSON report here (- for stdout)' })
    .option('junit', { type: 'string', normalize: true, describe: 'Write a JUnit XML report here (for CI)' })
    .option('html', { type: 'string', normalize: true, describe: 'Write a self-contained HTML report here' })
    .option('quiet', { type: 'boolean', alias: 'q', describe: 'No human summary on stdout' })
    .group(['json', 'junit', 'html', 'quiet'], 'Reports:') as Argv<T & OutputArgs>;
}

function writeOutputs(report: Report, argv: OutputArgs, info: RunInfo): void {
  const json = `${JSON.stringify(report, null, 2)}\n`;
  if (argv.json === '-') process.stdout.write(json);
  else if (argv.json) writeFileAtomic(argv.json, json);
  if (argv.junit) writeFileAtomic(argv.junit, junitXml(report));
  if (argv.html) writeFileAtomic(argv.html, htmlReport(report));
  if (!argv.quiet) {
    // With the JSON on stdout, the summary moves to stderr.
    (argv.json === '-' ? process.stderr : process.stdout).write(humanSummary(report, info));
  }
}

async function verifyHandler(argv: VerifyArgs): Promise<number> {
  const started = performance.now();
  if (argv.inputs.length === 0) throw new ErstError('ERR_USAGE', 'name at least one directory, .jsonl, .tar or .tar.gz to verify');
  const workers = argv.workers ?? availableParallelism();
  if (!Number.isInteger(workers) || workers < 1 || workers > 1024) {
    throw new ErstError('ERR_USAGE', `--workers must be a whole number from 1 to 1024, not ${argv.workers}`);
  }
  if (!Number.isInteger(argv['max-bytes']) || argv['max-bytes'] < 1) throw new ErstError('ERR_USAGE', '--max-bytes must be a positive whole number');
  if ((argv['state-key'] || argv['init-state']) && !argv.state) {
    throw new ErstError('ERR_USAGE', '--state-key and --init-state go with --state <file>');
  }
  const shard = argv.shard !== undefined ? parseShard(argv.shard) : null;
  const key = argv['state-key']
    ? InMemorySigner.fromKeyFile(argv['state-key'], (m) => process.stderr.write(`erst-batch: warning: ${m}\n`))
    : undefined;
  const report = await runVerify({
    inputs: argv.inputs,
    verify: trustOptions(argv),
    workers,
    shard,
    maxBytes: argv['max-bytes'],
    ...(argv.state ? { state: { path: argv.state, init: argv['init-state'] ?? false, ...(key ? { key } : {}) } } : {}),
  });
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
  const reports = argv.reports.map((name) => {
    let value: unknown;
    try {
      value = JSON.parse(readInputFile(name, 1 << 30).toString('utf8'));
    } catch (e) {
      if (isErstError(e)) throw e;
      throw new ErstError('ERR_USAGE', `${name}: not JSON (${(e as Error).message})`);
    }
    return { name, report: checkReport(value, name) };
  });
  const merged = mergeReports(reports);
  writeOutputs(merged, argv, {});
  return merged.exit_code;
}

export function buildParser(args: string[], ctx: { exitCode: number }): Argv {
  const handle =
    <A>(fn: (argv: A) => Promise<number>) =>
    async (argv: A): Promise<void> => {
      try {
        ctx.exitCode = await fn(argv);
      } catch (error) {
        process.stderr.write(`${formatError(error)}\n`);
        ctx.exitCode = exitCodeFor(error);
      }
    };
  return yargs(args)
    .scriptName('erst-batch')
    .usage('$0 <command>\n\nRe-verify whole archives of erst audit logs on every core, for nightly audits.')
    .strict()
    .demandCommand(1, 'Name a command: verify or merge.')
    .recommendCommands()
    .command(
      'verify [inputs..]',
      'Verify every record in directories, .jsonl files and .tar / .tar.gz archives',
      (y: Argv) =>
        withOutputOptions(withTrustOptions(y))
          .positional('inputs', { type: 'string', array: true, describe: 'Directories (every *.json below them), .json, .jsonl, .tar, .tar.gz or .tgz files' })
          .option('workers', { type: 'number', describe: 'Verifier threads (default: the number of cores)' })
          .option('state', { type: 'string', normalize: true, describe: 'State file: report records missing, changed or new since the run that wrote it, then update it' })
          .option('state-key', { type: 'string', normalize: true, describe: 'Ed25519 PKCS#8 PEM key that signs the state file and checks the previous one' })
          .option('init-state', { type: 'boolean', describe: 'With --state-key: allow a first run without a state file' })
          .option('shard', { type: 'string', describe: 'Verify only shard K of N (1-based), split by a hash of each record\'s source name' })
          .option('max-bytes', { type: 'number', default: DEFAULT_MAX_INPUT_BYTES, describe: 'Largest record accepted, in bytes' })
          .option('stats', { type: 'boolean', hidden: true })
          .group(['workers', 'shard', 'state', 'state-key', 'init-state', 'max-bytes'], 'Run:')
          .example('$0 verify archive/ logs.jsonl old.tar.gz --trust trust.json --json report.json', 'Verify everything against a trust file')
          .example('$0 verify /archive --public-key @signing.pub --state state.json --state-key state.pem --html report.html', 'Nightly: also catch deleted or replaced logs')
          .example('$0 verify /archive --trust trust.json --shard 2/8 --json shard-2.json', 'One of 8 machines')
          .epilogue(EXIT_HELP),
      handle((argv) => verifyHandler(argv as unknown as VerifyArgs)),
    )
    .command(
      'merge [reports..]',
      'Combine shard reports (--json of each shard) into one',
      (y: Argv) =>
        withOutputOptions(y)
          .positional('reports', { type: 'string', array: true, describe: 'JSON reports of every shard' })
          .example('$0 merge shard-*.json --json report.json --html report.html', 'One report for the whole archive')
          .epilogue(`${EXIT_HELP}\nMerging fails (exit 2) unless every shard 1..N is given exactly once, with the same inputs and trust.`),
      handle((argv) => mergeHandler(argv as unknown as MergeArgs)),
    )
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // Throwing (rather than printing here) stops yargs before it runs the
      // command's handler with the arguments it has just refused.
      if (err && !msg) throw err;
      throw new ErstError('ERR_USAGE', `${msg} (run with --help for usage and examples)`);
    });
}

export async function main(args: string[]): Promise<number> {
  const ctx = { exitCode: EXIT.OK as number };
  try {
    await buildParser(args, ctx).parseAsync();
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    return exitCodeFor(error);
  }
  return ctx.exitCode;
}
