import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ErstError } from '@erst/core';
import { type TrustPolicy, type VerifyOptions, checkAttestationRoot, parseTrustFile } from '@erst/verify';
import type { Argv } from 'yargs';
import { fileError, readInputFile, readTextFile } from './files.js';

export interface TrustArgs {
  'public-key'?: string[];
  trust?: string;
  'attestation-root'?: string[];
  'require-attestation'?: boolean;
}

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
      .group(['public-key', 'trust', 'attestation-root', 'require-attestation'], 'Trust:') as Argv<T & TrustArgs>
  );
}

function realpath(path: string): string {
  try {
    return realpathSync(path);
  } catch (cause) {
    throw fileError(path, cause);
  }
}

/**
 * Reads a trust file's `attestation_roots` paths: relative to the trust file
 * and inside its directory, after following symlinks. Whoever may edit a
 * trust file should not thereby read files elsewhere on the verifying machine.
 */
function rootReader(trustFile: string): (reference: string) => string {
  const base = dirname(resolve(trustFile));
  return (reference) => {
    if (isAbsolute(reference)) {
      throw new ErstError(
        'ERR_TRUST_FILE_INVALID',
        'is an absolute path; root paths are relative to the trust file, inside its directory',
      );
    }
    const dir = realpath(base);
    const target = realpath(resolve(base, reference));
    const rel = relative(dir, target);
    if (rel === '' || rel === '..' || rel.startsWith(`..${sep}`) || isAbsolute(rel)) {
      throw new ErstError('ERR_TRUST_FILE_INVALID', "leads outside the trust file's directory");
    }
    return readTextFile(target);
  };
}

/**
 * Turns trust flags into VerifyOptions; the verifier itself reads no files.
 * The result holds only text, bytes and dates, so it can be handed to worker
 * threads as it is.
 */
export function trustOptions(argv: TrustArgs): VerifyOptions {
  const publicKeys = (argv['public-key'] ?? []).map((k) => (k.startsWith('@') ? readTextFile(k.slice(1)) : k));
  const trust: TrustPolicy[] = [];
  if (argv.trust) trust.push(parseTrustFile(readInputFile(argv.trust), { resolveRoot: rootReader(argv.trust) }));
  // PEM text or a path, as in a trust file's attestation_roots.
  const attestationRoots = (argv['attestation-root'] ?? []).map((p) =>
    p.startsWith('-----BEGIN')
      ? checkAttestationRoot(p, '--attestation-root (PEM text)', 'ERR_USAGE')
      : checkAttestationRoot(readTextFile(p), `--attestation-root ${p}`, 'ERR_USAGE'),
  );
  return { publicKeys, trust, attestationRoots, requireAttestation: argv['require-attestation'] ?? false };
}
