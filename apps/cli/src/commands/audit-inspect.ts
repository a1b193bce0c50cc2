import { bytesToHex, parseRecord, parseStrictJson, sha256 } from '@erst/core';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { readInputFile } from '../io.js';
import { type RunContext, handle } from '../main.js';

interface InspectArgs {
  file: string;
  'hash-input'?: boolean;
  json?: boolean;
}

export function inspectCommand(ctx: RunContext): CommandModule<object, InspectArgs> {
  return {
    command: 'inspect <file>',
    describe: 'Show what a record is: format, signed and unsigned fields, hash input, attestation',
    builder: (y: Argv) =>
      y
        .positional('file', { type: 'string', demandOption: true, describe: 'Record file' })
        .option('hash-input', { type: 'boolean', describe: 'Print exactly the bytes that are hashed, and nothing else' })
        .option('json', { type: 'boolean', describe: 'Machine output' })
        .example('$0 audit inspect log.json', 'Summarize a record')
        .example('$0 audit inspect log.json --hash-input | sha256sum', 'Recompute trace_hash by hand') as unknown as Argv<InspectArgs>,
    handler: handle(ctx, async (argv: InspectArgs) => {
      const rec = parseRecord(parseStrictJson(readInputFile(argv.file)));
      if (argv['hash-input']) {
        process.stdout.write(rec.hashInput);
        return EXIT.OK;
      }
      const digest = bytesToHex(sha256(rec.hashInput));
      const att = rec.attestation;
      const summary = {
        file: argv.file,
        format: rec.format,
        algorithm: rec.algorithm,
        public_key: bytesToHex(rec.publicKey.raw),
        transaction_hash: rec.transactionHash ?? null,
        timestamp: rec.timestamp ?? null,
        claimed_hash: rec.claimedHash,
        computed_hash: digest,
        hash_matches: digest === rec.claimedHash,
        signs: rec.signedMessage === 'digest' ? 'the 32-byte SHA-256 digest of the hash input' : 'the 64 ASCII hex characters of the digest',
        hash_input_bytes: rec.hashInput.length,
        covered: rec.covered,
        uncovered: rec.uncovered,
        attestation: att
          ? {
              token_info: att.token_info,
              key_non_exportable: att.key_non_exportable,
              key_attributes: att.key_attributes ?? null,
              retrieved_at: att.retrieved_at,
              certificates: (att.certificates ?? []).map((c) => ({ subject: c.subject, issuer: c.issuer, serial: c.serial })),
            }
          : null,
      };
      if (argv.json) {
        process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
        return EXIT.OK;
      }
      const out = [
        `file:             ${summary.file}`,
        `format:           ${summary.format}`,
        `key:              ${summary.algorithm} ${summary.public_key}`,
        `transaction hash: ${summary.transaction_hash ?? '(none)'}`,
        `timestamp:        ${summary.timestamp ?? '(none)'}`,
        `hash:             ${summary.claimed_hash} (${summary.hash_matches ? 'matches the content' : `content hashes to ${digest}`})`,
        `signature over:   ${summary.signs}`,
        `hash input:       ${summary.hash_input_bytes} bytes (print them with --hash-input)`,
        `signed fields:    ${summary.covered.join(', ')}`,
        `unsigned fields:  ${summary.uncovered.length ? `${summary.uncovered.join(', ')} (can be changed without detection)` : '(none)'}`,
      ];
      if (summary.attestation) {
        const a = summary.attestation;
        out.push(`attestation:      ${a.token_info}; claims key_non_exportable=${a.key_non_exportable}; retrieved ${a.retrieved_at}`);
        if (a.key_attributes) out.push(`key attributes:   ${JSON.stringify(a.key_attributes)} (claims)`);
        a.certificates.forEach((c, i) => {
          out.push(`  [${i}] subject: ${c.subject}`, `      issuer:  ${c.issuer}`, `      serial:  ${c.serial}`);
        });
      } else {
        out.push('attestation:      (none)');
      }
      process.stdout.write(`${out.join('\n')}\n`);
      return EXIT.OK;
    }),
  };
}
