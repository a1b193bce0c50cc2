import {
  ErstError,
  type JsonValue,
  type SignInput,
  type WritableSchema,
  bytesToHex,
  isErstError,
  parseSignDocument,
  parseStrictJson,
} from '@erst/core';
import { signOne } from '@erst/batch-sign';
import type { Argv, CommandModule } from 'yargs';
import { openTimestamper, signBatchCommand, withBatchOptions } from '../batch-sign.js';
import { EXIT } from '../exit.js';
import { writeOutput } from '@erst/node-io';
import { readArgument } from '../io.js';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import { displayLines } from '../output.js';
import { openSigner, withSignerOptions } from '../signers.js';

/**
 * The document to sign (`{transaction_hash, payload}`, or a bare payload with
 * --transaction-hash), read by core's one parser; only the flag names are added here.
 */
export function payloadDocument(doc: JsonValue, txFlag: string | undefined): SignInput {
  try {
    return parseSignDocument(doc, { transactionHash: txFlag });
  } catch (e) {
    if (!isErstError(e, 'ERR_PAYLOAD_INVALID')) throw e;
    if (e.details?.missing === 'transactionHash') {
      throw new ErstError(
        'ERR_USAGE',
        'the payload has no transaction hash: pass --transaction-hash <64 hex>, or give {"transaction_hash": ..., "payload": {...}}',
      );
    }
    if (e.details?.conflict === 'transactionHash') {
      throw new ErstError('ERR_USAGE', "--transaction-hash differs from the document's transaction_hash");
    }
    throw e;
  }
}

export function signCommand(ctx: RunContext, name = 'sign'): CommandModule {
  return command(ctx, {
    command: name,
    describe: 'Sign a simulation payload into an audit record',
    builder: (y: Argv) =>
      withBatchOptions(withSignerOptions(y))
        .option('payload', { type: 'string', nargs: 1, describe: 'Payload document: JSON text, @file, or - for stdin' })
        .option('schema', {
          type: 'string',
          choices: ['2.0.0', '2.1.0', '1.1.0'],
          describe: 'Record format to write (default 2.0.0; 2.1.0 with --log or --tsa-url)',
        })
        .option('transaction-hash', { type: 'string', describe: 'Transaction hash (64 hex) for a bare payload' })
        .option('out', {
          type: 'string',
          describe: 'Write the record here (atomically) instead of stdout',
          normalize: true,
        })
        .example(
          helpExample(
            '$0 audit sign --key-file key.pem --payload @sim.json --out log.json',
            'Sign a {transaction_hash, payload} document',
          ),
        )
        .example(
          helpExample(
            ['$0 audit sign --hsm-provider pkcs11 --key-label audit-2026', '--payload @sim.json --out log.json'],
            'Sign on a PKCS#11 token (module, PIN and token from ERST_PKCS11_*)',
          ),
        )
        .example(
          helpExample(
            ['erst-sim | $0 audit sign --payload - --transaction-hash <hex>', '--schema 1.1.0'],
            'Sign a bare payload from stdin as an erst Go 1.1.0 record',
          ),
        )
        .example(
          helpExample(
            [
              '$0 audit sign --batch payloads.jsonl --out records.jsonl',
              '--log /srv/log --no-record-signature --hsm-provider pkcs11',
            ],
            'Log a batch: one token signature (the checkpoint) for all of it',
          ),
        ),
    run: async (argv) => {
      argv.schema ??= argv.log === undefined && argv['tsa-url'] === undefined ? '2.0.0' : '2.1.0';
      // Signing threads only where the key signs each record: logged without record signatures, it signs checkpoints.
      const bulk = !(argv.log !== undefined && argv['record-signature'] === false);
      if (argv.batch !== undefined) return signBatchCommand(argv, () => openSigner(argv, process.env, bulk));
      const { text } = readArgument(argv.payload!);
      const { transactionHash, payload } = payloadDocument(parseStrictJson(text), argv['transaction-hash']);
      const timestamper = await openTimestamper(argv);
      const signer = await openSigner(argv);
      try {
        const schema = argv.schema as WritableSchema;
        const opts = { schema, log: argv.log, recordSignature: argv['record-signature'], timestamper };
        const { record, logged } = await signOne(signer, { transactionHash, payload }, opts);
        const json = `${JSON.stringify(record, null, 2)}\n`;
        if (argv.out) {
          writeOutput(argv.out, json);
          const key = bytesToHex((await signer.publicKey()).raw);
          const where = logged ? `, logged in ${argv.log} (${logged.origin}) at index ${logged.index}` : '';
          process.stderr.write(
            `${displayLines([`signed ${transactionHash} as ${record.version} with ${signer.algorithm} key ${key}${timestamper ? ', timestamped' : ''}${where} -> ${argv.out}`])}\n`,
          );
        } else {
          process.stdout.write(json);
        }
      } finally {
        await signer.close?.();
      }
      return EXIT.OK;
    },
  });
}
