import { parseRecord, parseStrictJson } from '@erst/core';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import type { DescribeTextHints } from '@erst/verify';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { readInputFile } from '@erst/node-io';
import { displayLines } from '../output.js';

/** erst's commands for what inspect leaves undone. */
const HINTS: DescribeTextHints = {
  hashInput: 'print them with --hash-input',
  verifyLog: 'use erst audit verify',
  verifyTimestamp: "use erst audit verify with the TSA's root",
  verifyAttestation: 'use erst audit verify --attestation-root',
  proveVendor: 'verify --attestation-root',
};

export function inspectCommand(ctx: RunContext): CommandModule {
  return command(ctx, {
    command: 'inspect <file>',
    describe: 'Show what a record is: format, signed and unsigned fields, hash input, attestation, timestamp token',
    builder: (y: Argv) =>
      y
        .positional('file', { type: 'string', demandOption: true, describe: 'Record file' })
        .option('hash-input', {
          type: 'boolean',
          describe: 'Print exactly the bytes that are hashed, and nothing else',
        })
        .option('json', { type: 'boolean', describe: 'Machine output' })
        .example([
          ...helpExample('$0 audit inspect log.json', 'Summarize a record'),
          ...helpExample('$0 audit inspect log.json --hash-input | sha256sum', 'Recompute trace_hash by hand'),
        ]),
    run: async (argv) => {
      const bytes = readInputFile(argv.file);
      if (argv['hash-input']) {
        process.stdout.write(parseRecord(parseStrictJson(bytes)).hashInput);
        return EXIT.OK;
      }
      // Loaded here: parsing certificates pulls in @peculiar/x509, which --hash-input does not need.
      const { describeRecord, describeRecordText } = await import('@erst/verify');
      const description = await describeRecord(bytes);
      process.stdout.write(
        argv.json
          ? `${JSON.stringify({ file: argv.file, ...description }, null, 2)}\n`
          : `${displayLines(describeRecordText(argv.file, description, HINTS))}\n`,
      );
      return EXIT.OK;
    },
  });
}
