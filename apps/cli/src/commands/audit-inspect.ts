import { parseRecord, parseStrictJson } from '@erst/core';
import { type RunContext, handle, helpExample } from '@erst/cli-harness';
import type { DescribedTimestampToken } from '@erst/verify';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { readInputFile } from '../io.js';
import { describeVendor, displayLines } from '../output.js';

interface InspectArgs {
  file: string;
  'hash-input'?: boolean;
  json?: boolean;
}

/**
 * The lines `inspect` prints for a record's timestamp token: what the token
 * says, read without verifying it (that needs pinned TSA roots), and whether
 * it is over this record's trace_hash at all.
 */
export function timestampLines(t: DescribedTimestampToken | null): string[] {
  if (!t) return ['timestamp token:  (none)'];
  if (t.error) return [`timestamp token:  does not parse (${t.error})`];
  const accuracy = t.accuracy === null ? 'no stated accuracy' : `accuracy ±${t.accuracy} ms`;
  return [
    `timestamp token:  genTime ${t.gen_time} (${accuracy}); not verified here (use erst audit verify with the TSA's root)`,
    `  TSA:            ${t.tsa ?? '(the token does not carry its certificate)'}`,
    `  serial:         ${t.serial}`,
    `  policy:         ${t.policy}`,
    `  imprint:        ${
      t.imprint_matches_trace_hash
        ? 'matches trace_hash'
        : `does NOT match trace_hash (a ${t.hash_algorithm} imprint of something else: a token moved from another record)`
    }`,
    `  certificates:   ${t.certificates.length ? t.certificates.join('; ') : '(none)'}`,
  ];
}

export function inspectCommand(ctx: RunContext): CommandModule<object, InspectArgs> {
  return {
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
        .example(helpExample('$0 audit inspect log.json', 'Summarize a record'))
        .example(
          helpExample('$0 audit inspect log.json --hash-input | sha256sum', 'Recompute trace_hash by hand'),
        ) as unknown as Argv<InspectArgs>,
    handler: handle(ctx, async (argv: InspectArgs) => {
      const bytes = readInputFile(argv.file);
      if (argv['hash-input']) {
        process.stdout.write(parseRecord(parseStrictJson(bytes)).hashInput);
        return EXIT.OK;
      }
      // Loaded here: parsing certificates pulls in @peculiar/x509, which --hash-input does not need.
      const { describeRecord } = await import('@erst/verify');
      const summary = { file: argv.file, ...(await describeRecord(bytes)) };
      const digest = summary.computed_hash;
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
        `signature over:   ${summary.has_signature ? summary.signs : '(no signature: sealed by its log proof)'}`,
        `hash input:       ${summary.hash_input_bytes} bytes (print them with --hash-input)`,
        `signed fields:    ${summary.covered.join(', ')}`,
        `unsigned fields:  ${summary.uncovered.length ? `${summary.uncovered.join(', ')} (can be changed without detection)` : '(none)'}`,
      ];
      const proof = summary.log_proof;
      if (proof) {
        out.push(
          proof.error
            ? `log proof:        does not parse (${proof.error})`
            : `log proof:        index ${proof.index} of ${proof.tree_size} in log "${proof.origin}", ` +
                `${proof.proof_hashes} proof hash(es); checkpoint signed by ` +
                `${proof.signatures.map((x) => `${x.name}+${x.key_id}`).join(', ') || 'nobody'}; ` +
                'not verified here (use erst audit verify)',
        );
      }
      if (summary.format === '2.1.0') out.push(...timestampLines(summary.timestamp_token));
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
