import { ErstError, isErstError } from '@erst/core';
import { Verifier, type VerifyResult, describeResultText, isMalformed, unreadableResult } from '@erst/verify';
import { type RunContext, command, helpExample, trustOptions, withTrustOptions } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, EXIT_HELP, formatError } from '../exit.js';
import { readInputFile } from '@erst/node-io';
import { displayLines, jsonResult } from '../output.js';

interface Checked {
  file: string;
  result: VerifyResult;
  /** Set when the file could not be read at all (missing, a directory, ...): an input error, not a record. */
  readError?: unknown;
}

/** Reads then verifies; a file that cannot be read becomes an error for this file, not a crash. */
async function verifyFile(verifier: Verifier, file: string): Promise<Checked> {
  let bytes: Buffer;
  try {
    bytes = readInputFile(file);
  } catch (e) {
    if (!isErstError(e)) throw e;
    return { file, result: unreadableResult(e), readError: e };
  }
  // Never throws: whatever goes wrong is in the result (ERR_INTERNAL for a bug).
  return { file, result: await verifier.verify(bytes) };
}

export function verifyCommand(ctx: RunContext, name = 'verify'): CommandModule {
  return command(ctx, {
    command: `${name} [files..]`,
    describe: 'Verify audit records: integrity, and trust in the signing key',
    builder: (y: Argv) =>
      withTrustOptions(y)
        .positional('files', { type: 'string', array: true, describe: 'Record files' })
        .option('file', { type: 'string', array: true, describe: 'Record file (erst flag; repeatable)' })
        .option('json', { type: 'boolean', describe: 'Machine output: {"results":[...]}' })
        .option('backend', { type: 'string', choices: ['auto', 'webcrypto', 'noble'], default: 'auto', hidden: true })
        .example([
          ...helpExample(
            '$0 audit verify log.json --public-key 48409627…2816',
            'Verify one record signed by a pinned key',
          ),
          ...helpExample(
            '$0 audit verify logs/*.json --trust trust.json --json',
            'Verify many against a trust file, machine output',
          ),
        ])
        .epilogue(EXIT_HELP),
    run: async (argv) => {
      const files = [...(argv.files ?? []), ...(argv.file ?? [])];
      if (files.length === 0)
        throw new ErstError('ERR_USAGE', 'name at least one record file (erst audit verify <file...>)');
      const verifier = new Verifier({ ...trustOptions(argv), backend: argv.backend as 'auto' });
      const checked: Checked[] = [];
      for (const file of files) checked.push(await verifyFile(verifier, file));

      // A file that could not be read is the documented one-line error on stderr
      // (exit 2), in both output modes; the other files are still verified.
      for (const c of checked) if (c.readError) process.stderr.write(`${formatError(c.readError)}\n`);
      if (argv.json) {
        process.stdout.write(
          `${JSON.stringify({ results: checked.map((c) => jsonResult(c.file, c.result)) }, null, 2)}\n`,
        );
      } else {
        const read = checked.filter((c) => !c.readError);
        for (const c of read) process.stdout.write(`${displayLines(describeResultText(c.file, c.result))}\n`);
        if (checked.length > 1) {
          const valid = read.filter((c) => c.result.valid).length;
          const unread = checked.length - read.length;
          process.stdout.write(
            `${valid} valid, ${read.length - valid} failed${unread ? `, ${unread} not read` : ''}\n`,
          );
        }
        if (read.some((c) => c.result.valid && c.result.trust === 'embedded-only')) {
          process.stderr.write(
            'erst: note: no key was pinned, so a valid result means "someone signed this", not "we signed this". Pin keys with --public-key or --trust.\n',
          );
        }
      }
      // The worst outcome wins: a bug (70) over input that could not be read or
      // parsed (2) over a failed record (1).
      if (checked.some((c) => c.result.errors.some((e) => e.code === 'ERR_INTERNAL'))) return EXIT.INTERNAL;
      if (checked.some((c) => isMalformed(c.result))) return EXIT.USAGE_OR_INPUT;
      return checked.every((c) => c.result.valid) ? EXIT.OK : EXIT.VERIFY_FAILED;
    },
  });
}
