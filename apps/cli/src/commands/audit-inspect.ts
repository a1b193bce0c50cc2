import { bytesToHex, parseRecord, parseStrictJson, sha256 } from '@erst/core';
import { helpExample } from '@erst/node-io';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { readInputFile } from '../io.js';
import { type RunContext, handle } from '../main.js';
import { describeVendor, displayLines } from '../output.js';

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
        .option('hash-input', {
          type: 'boolean',
          describe: 'Print exactly the bytes that are hashed, and nothing else',
        })
        .option('json', { type: 'boolean', describe: 'Machine output' })
        .example(helpExample('$0 audit inspect log.json', 'Summarize a record'))
        .example(
          helpExample('$0 audit inspect log.json --hash-input | sha256sum', 'Recompute trace_hash by hand'),
        ) as unknown as Argv<InspectArgs>,
    handler: handle(ctx, async (argv: InspectArgs) => {
      const rec = parseRecord(parseStrictJson(readInputFile(argv.file)));
      if (argv['hash-input']) {
        process.stdout.write(rec.hashInput);
        return EXIT.OK;
      }
      const digest = bytesToHex(sha256(rec.hashInput));
      const att = rec.attestation;
      // Parsing certificates loads @peculiar/x509: only when there is an attestation.
      const described = att ? (await import('@erst/attestation')).describeAttestation(att) : null;
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
        signs:
          rec.signedMessage === 'digest'
            ? 'the 32-byte SHA-256 digest of the hash input'
            : 'the 64 ASCII hex characters of the digest',
        hash_input_bytes: rec.hashInput.length,
        covered: rec.covered,
        uncovered: rec.uncovered,
        attestation: att
          ? {
              token_info: att.token_info,
              key_non_exportable: att.key_non_exportable,
              key_attributes: att.key_attributes ?? null,
              retrieved_at: att.retrieved_at,
              // As the record states them, plus what each PEM actually holds (null where it does not parse).
              // Not validated: `erst audit verify --attestation-root` does that.
              certificates: (att.certificates ?? []).map((c, i) => ({
                subject: c.subject,
                issuer: c.issuer,
                serial: c.serial,
                parsed: described?.certificates[i] ?? null,
              })),
              vendor: described?.vendor ?? null,
              errors: described?.errors ?? [],
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
        out.push(
          `attestation:      token "${a.token_info}"; claims key_non_exportable=${a.key_non_exportable}; retrieved ${a.retrieved_at}`,
        );
        if (a.key_attributes) {
          const attrs = Object.entries(a.key_attributes).map(([k, v]) => `${k}=${v}`);
          out.push(`key attributes:   ${attrs.join(' ') || '(none)'} (claims, not proof)`);
        }
        if (a.vendor)
          out.push(
            `vendor details:   ${describeVendor(a.vendor)} (from the leaf; proven only by verify --attestation-root)`,
          );
        out.push(
          `chain:            ${a.certificates.length} certificate(s), leaf first as stated; not validated here (use erst audit verify --attestation-root)`,
        );
        a.certificates.forEach((c, i) => {
          const p = c.parsed;
          out.push(
            `  [${i}] subject:     ${p?.subject ?? c.subject}`,
            `      issuer:      ${p?.issuer ?? c.issuer}`,
            `      serial:      ${p?.serial ?? c.serial}`,
          );
          if (p) {
            out.push(
              `      valid:       ${p.not_before} to ${p.not_after}`,
              `      CA:          ${p.is_ca ? 'yes' : 'no'}`,
              `      key:         ${p.key_algorithm}, SPKI SHA-256 ${p.key_sha256_fingerprint}`,
              `      SHA-256:     ${p.sha256_fingerprint}`,
            );
          } else {
            out.push('      (the PEM does not parse as an X.509 certificate)');
          }
        });
        for (const e of a.errors) out.push(`  error ${e.code}: ${e.message}`);
      } else {
        out.push('attestation:      (none)');
      }
      process.stdout.write(`${displayLines(out)}\n`);
      return EXIT.OK;
    }),
  };
}
