import { dirname, resolve } from 'node:path';
import { ErstError } from '@erst/core';
import { type TrustPolicy, type VerifyOptions, parseTrustFile } from '@erst/verify';
import type { Argv } from 'yargs';
import { readInputFile, readTextFile } from './files.js';

export interface TrustArgs {
  'public-key'?: string[];
  trust?: string;
  'attestation-root'?: string[];
  'require-attestation'?: boolean;
}

/** Trust flags shared by `erst audit verify` and `erst-batch verify`. */
export function withTrustOptions<T>(y: Argv<T>): Argv<T & TrustArgs> {
  return y
    .option('public-key', {
      type: 'string',
      array: true,
      describe: 'Pinned public key: hex, SPKI PEM text, or @file (repeatable)',
    })
    .option('trust', { type: 'string', describe: 'Trust file (keys with validity windows, attestation roots)', normalize: true })
    .option('attestation-root', { type: 'string', array: true, describe: 'Pinned attestation root certificate, PEM file (repeatable)' })
    .option('require-attestation', { type: 'boolean', describe: 'Fail records whose key is not hardware-attested to a pinned root' })
    .group(['public-key', 'trust', 'attestation-root', 'require-attestation'], 'Trust:') as Argv<T & TrustArgs>;
}

/**
 * Turns trust flags into VerifyOptions; the verifier itself reads no files.
 * The result holds only text, bytes and dates, so it can be handed to worker
 * threads as it is.
 */
export function trustOptions(argv: TrustArgs): VerifyOptions {
  const publicKeys = (argv['public-key'] ?? []).map((k) => (k.startsWith('@') ? readTextFile(k.slice(1)) : k));
  const trust: TrustPolicy[] = [];
  if (argv.trust) {
    const base = dirname(resolve(argv.trust));
    trust.push(parseTrustFile(readInputFile(argv.trust), { resolveRoot: (ref) => readTextFile(resolve(base, ref)) }));
  }
  const attestationRoots = (argv['attestation-root'] ?? []).map((p) => {
    const pem = readTextFile(p);
    if (!pem.includes('-----BEGIN CERTIFICATE-----')) {
      throw new ErstError('ERR_USAGE', `--attestation-root ${p} holds no PEM certificate`);
    }
    return pem;
  });
  return { publicKeys, trust, attestationRoots, requireAttestation: argv['require-attestation'] ?? false };
}
