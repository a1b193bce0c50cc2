import { isErstError } from '@erst/core';
import { Verifier, type VerifyResult, isMalformed, unreadableResult } from '@erst/verify';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { readInputFile } from '../io.js';
import { type RunContext, handle } from '../main.js';
import { describeResult, jsonResult } from '../output.js';
import { type TrustArgs, trustOptions, withTrustOptions } from '../trust-args.js';

interface VerifyArgs extends TrustArgs {
  files?: string[];
  file?: string[];
  json?: boolean;
  backend: string;
}

/** Reads then verifies; a file that cannot be read becomes a result, not a crash. */
async function verifyFile(verifier: Verifier, file: string): Promise<VerifyResult> {
  try {
    return await verifier.verify(readInputFile(file));
  } catch (e) {
    if (!isErstError(e)) throw e;
    return unreadableResult(e);
  }
}

export function verifyCommand(ctx: RunContext, name = 'verify'): CommandModule<object, VerifyArgs> {
  return {
    command: `${name} [files..]`,
    describe: 'Verify audit records: integrity, and trust in the signing key',
    builder: (y: Argv) =>
      withTrustOptions(y)
        .positional('files', { type: 'string', array: true, describe: 'Record files' })
        .option('file', { type: 'string', array: true, describe: 'Record file (erst flag; repeatable)' })
        .option('json', { type: 'boolean', describe: 'Machine output: {"results":[...]}' })
        .option('backend', { type: 'string', choices: ['auto', 'webcrypto', 'noble'], default: 'auto', hidden: true })
        .example('$0 audit verify log.json --public-key 48409627…2816', 'Verify one record signed by a pinned key')
        .example('$0 audit verify logs/*.json --trust trust.json --json', 'Verify many against a trust file, machine output') as unknown as Argv<VerifyArgs>,
    handler: handle(ctx, async (argv: VerifyArgs) => {
      const files = [...(argv.files ?? []), ...(argv.file ?? [])];
      if (files.length === 0) {
        process.stderr.write('erst: error ERR_USAGE: name at least one record file (erst audit verify <file...>)\n');
        return EXIT.USAGE_OR_INPUT;
      }
      const verifier = new Verifier({ ...trustOptions(argv), backend: argv.backend as 'auto' });
      const results: [string, VerifyResult][] = [];
      for (const file of files) results.push([file, await verifyFile(verifier, file)]);

      if (argv.json) {
        process.stdout.write(`${JSON.stringify({ results: results.map(([f, r]) => jsonResult(f, r)) }, null, 2)}\n`);
      } else {
        for (const [f, r] of results) process.stdout.write(`${describeResult(f, r)}\n`);
        const bad = results.filter(([, r]) => !r.valid).length;
        if (results.length > 1) process.stdout.write(`${results.length - bad} valid, ${bad} failed\n`);
        if (results.some(([, r]) => r.valid && r.trust === 'embedded-only')) {
          process.stderr.write(
            'erst: note: no key was pinned, so a valid result means "someone signed this", not "we signed this". Pin keys with --public-key or --trust.\n',
          );
        }
      }
      if (results.some(([, r]) => isMalformed(r))) return EXIT.USAGE_OR_INPUT;
      return results.every(([, r]) => r.valid) ? EXIT.OK : EXIT.VERIFY_FAILED;
    }),
  };
}
