import { ErstError, bytesToBase64 } from '@erst/core';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import { readLog, verifyLogConsistency } from '@erst/log-store';
import { MAX_NOTE_BYTES, openCheckpoint, parseVerifierKey } from '@erst/tlog';
import { readInputFile } from '@erst/node-io';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { displayLines } from '../output.js';

// Lines stay within 78 columns (yargs re-wraps longer ones).
const LOG_VERIFY_EXIT_HELP = `Exit codes:
  0   the log verifies (and, with --since, only grew)
  1   the log fails: a checkpoint not signed by --log-key, another
      origin, a tile or entry bundle that does not match the entries,
      a root mismatch, or (--since) a rewritten or rolled-back log
  2   bad usage, or a log that cannot be read (no checkpoint, a fetch
      that failed, a malformed checkpoint)
  70  internal error (ERR_INTERNAL): a bug in erst; please report it`;

/**
 * `erst log verify <dir | url> --log-key <vkey> [--since <checkpoint>]`:
 * glue over `readLog` (checkpoint signature, every bundle and tile
 * recomputed against the root) and `verifyLogConsistency` (the log grew from
 * an older checkpoint). Failures are thrown with their codes; the harness
 * prints them and maps them to exit statuses.
 */
export function logVerifyCommand(ctx: RunContext): CommandModule {
  return command(ctx, {
    command: 'verify [source]',
    describe: 'Verify a log: its checkpoint, every tile and entry bundle, and (--since) that it only grew',
    builder: (y: Argv) =>
      y
        .positional('source', { type: 'string', describe: 'The log: a directory, or an http(s) URL' })
        .option('log-key', {
          type: 'string',
          array: true,
          nargs: 1,
          describe: 'Verifier key of the log (<origin>+<key ID>+<key>; repeatable)',
        })
        .option('since', {
          type: 'string',
          normalize: true,
          describe: 'A checkpoint saved earlier: the log must be consistent with it (append-only)',
        })
        .example([
          ...helpExample(
            '$0 log verify ./log --log-key "audit.example.com/log+1a2b3c4d+AQ…"',
            'Check a log directory in full',
          ),
          ...helpExample(
            ['$0 log verify https://logs.example.com/audit --log-key "$(cat log.vkey)"', '--since saved-checkpoint'],
            'Nightly: the served log only grew since the saved checkpoint',
          ),
        ])
        .epilogue(LOG_VERIFY_EXIT_HELP),
    run: async (argv) => {
      if (!argv.source) throw new ErstError('ERR_USAGE', 'name the log to verify: a directory or an http(s) URL');
      const keys = argv['log-key'] ?? [];
      if (keys.length === 0) throw new ErstError('ERR_USAGE', '--log-key is required: the verifier key of the log');
      const verifiers = keys.map((k) => parseVerifierKey(k));
      const log = await readLog(argv.source, { verifiers });
      const lines = [
        `origin ${log.checkpoint.origin}`,
        `size ${log.checkpoint.size}`,
        `root ${bytesToBase64(log.checkpoint.root)}`,
      ];
      if (argv.since) {
        // The old checkpoint must be this log's, under the same key: one signed by anyone else proves nothing.
        const old = openCheckpoint(readInputFile(argv.since, MAX_NOTE_BYTES), verifiers);
        verifyLogConsistency(old, log);
        lines.push(`consistent with ${argv.since} (size ${old.size})`);
      }
      process.stdout.write(`${displayLines(lines)}\n`);
      return EXIT.OK;
    },
  });
}
