import { loadTrustOptions } from '@erst/node-io';
import type { VerifyOptions } from '@erst/verify';
import type { Argv } from 'yargs';

export interface TrustArgs {
  'public-key'?: string[];
  trust?: string;
  'attestation-root'?: string[];
  'require-attestation'?: boolean;
  'log-key'?: string[];
  'tsa-root'?: string[];
  'require-timestamp'?: boolean;
}

/** The flags that set the options `loadTrustOptions` names in its errors: every program with trust flags maps them. */
export const TRUST_FLAGS: Readonly<Record<string, string>> = {
  attestationRoots: '--attestation-root',
  logKeys: '--log-key',
  tsaRoots: '--tsa-root',
  requireTimestamp: '--require-timestamp',
};

/** Trust flags shared by `erst audit verify` and `erst-batch verify`. */
export function withTrustOptions<T>(y: Argv<T>): Argv<T & TrustArgs> {
  return (
    y
      // One value per flag (repeat the flag for more): a greedy list would take
      // the record files that follow it as keys.
      .option('public-key', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'Pinned public key: hex, SPKI PEM text, or @file (repeatable)',
      })
      .option('trust', {
        type: 'string',
        describe: 'Trust file (keys with validity windows, attestation roots)',
        normalize: true,
      })
      .option('attestation-root', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'Pinned attestation root certificate: PEM file, or PEM text (repeatable)',
      })
      .option('require-attestation', {
        type: 'boolean',
        describe: 'Fail records whose key is not hardware-attested to a pinned root',
      })
      .option('log-key', {
        type: 'string',
        array: true,
        nargs: 1,
        describe:
          "Verifier key of a log (<origin>+<key ID>+<key>) whose checkpoints records' log proofs lead to (repeatable)",
      })
      .option('tsa-root', {
        type: 'string',
        array: true,
        nargs: 1,
        describe: 'Pinned root of a Time-Stamp Authority (RFC 3161): PEM file, or PEM text (repeatable)',
      })
      .option('require-timestamp', {
        type: 'boolean',
        describe: 'Fail records without a timestamp token that verifies under a pinned TSA root',
      })
      .group(
        ['public-key', 'trust', 'attestation-root', 'require-attestation', 'log-key', 'tsa-root', 'require-timestamp'],
        'Trust:',
      ) as Argv<T & TrustArgs>
  );
}

/**
 * Reads what the trust flags name into VerifyOptions (`loadTrustOptions` of
 * @erst/node-io). Its errors name options, such as `attestationRoots`; map
 * them back to flags with TRUST_FLAGS.
 */
export function trustOptions(argv: TrustArgs): VerifyOptions {
  return loadTrustOptions({
    publicKeys: argv['public-key'],
    trustFile: argv.trust,
    attestationRoots: argv['attestation-root'],
    requireAttestation: argv['require-attestation'],
    logKeys: argv['log-key'],
    tsaRoots: argv['tsa-root'],
    requireTimestamp: argv['require-timestamp'],
  });
}
