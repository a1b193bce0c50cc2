import { realpathSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve, sep } from 'node:path';
import { ErstError, isErstError } from '@erst/core';
import { type TrustPolicy, type VerifyOptions, checkAttestationRoot, parseTrustFile } from '@erst/verify';
import { fileError, readInputFile, readTextFile } from './files.js';

/** Where the trust material comes from: text given directly, or files named by path. */
export interface TrustSources {
  /** Pinned public keys: hex, SPKI PEM text, or `@path` of a file that holds one. */
  publicKeys?: readonly string[] | undefined;
  /** Path of a trust file (keys with validity windows, attestation roots). */
  trustFile?: string | undefined;
  /** Pinned attestation root certificates: PEM text, or the path of a PEM file. */
  attestationRoots?: readonly string[] | undefined;
  /** Fail records whose key is not hardware-attested to a pinned root. */
  requireAttestation?: boolean | undefined;
  /** Verifier keys (`<origin>+<key ID>+<key>`) of the logs a 2.1.0 record's `log_proof` may lead to. */
  logKeys?: readonly string[] | undefined;
  /** Pinned roots of the Time-Stamp Authorities whose RFC 3161 tokens count: PEM text, or the path of a PEM file. */
  tsaRoots?: readonly string[] | undefined;
  /** Fail records without a timestamp token that verifies under a pinned TSA root. */
  requireTimestamp?: boolean | undefined;
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
 * A root given as an option (`attestationRoots` or `tsaRoots`) that holds no
 * certificate: the option is wrong (ERR_OPTIONS_INVALID naming it, which a
 * command line maps to its flag). The message names the file, never its content.
 */
function pinnedRoot(value: string, option: 'attestationRoots' | 'tsaRoots'): string {
  const [text, where] = value.startsWith('-----BEGIN')
    ? [value, `\`${option}\` (PEM text)`]
    : [readTextFile(value), `\`${option}\` ${value}`];
  try {
    return checkAttestationRoot(text, where, 'ERR_OPTIONS_INVALID');
  } catch (e) {
    if (!isErstError(e, 'ERR_OPTIONS_INVALID')) throw e;
    throw new ErstError('ERR_OPTIONS_INVALID', e.message, { cause: e, details: { options: [option] } });
  }
}

/**
 * Reads the files that `sources` names and returns VerifyOptions for
 * `@erst/verify`, whose verifier reads no files itself. The result holds only
 * text, bytes and dates, so it can be handed to worker threads as it is.
 *
 * Throws the file codes of `readInputFile` (a key, trust file or root that
 * cannot be read), `ERR_TRUST_FILE_INVALID` (a trust file `@erst/verify`
 * refuses, or one whose `attestation_roots` leave its directory) and
 * `ERR_OPTIONS_INVALID` with `details.options: ['attestationRoots']` or
 * `['tsaRoots']` (a root that holds no certificate).
 *
 * @example
 * const options = loadTrustOptions({ publicKeys: ['@signing.pub'], trustFile: 'trust.json' });
 * const result = await new Verifier(options).verify(bytes);
 */
export function loadTrustOptions(sources: TrustSources): VerifyOptions {
  const publicKeys = (sources.publicKeys ?? []).map((k) => (k.startsWith('@') ? readTextFile(k.slice(1)) : k));
  const trust: TrustPolicy[] = [];
  const logKeys = [...(sources.logKeys ?? [])];
  if (sources.trustFile) {
    const policy = parseTrustFile(readInputFile(sources.trustFile), { resolveRoot: rootReader(sources.trustFile) });
    trust.push(policy);
    // Also in `logKeys` (the Verifier counts a key given both ways once): options first, then the file's.
    logKeys.push(...(policy.logKeys ?? []));
  }
  // PEM text or a path, as in a trust file's attestation_roots.
  const attestationRoots = (sources.attestationRoots ?? []).map((r) => pinnedRoot(r, 'attestationRoots'));
  const tsaRoots = (sources.tsaRoots ?? []).map((r) => pinnedRoot(r, 'tsaRoots'));
  const options: VerifyOptions = {
    publicKeys,
    trust,
    attestationRoots,
    requireAttestation: sources.requireAttestation ?? false,
  };
  // Checked by @erst/verify (ERR_OPTIONS_INVALID naming `logKeys`); only present when given, so reports stay as they were.
  if (logKeys.length > 0) options.logKeys = logKeys;
  // The same for the timestamp options (a trust file's tsa_roots and require_timestamp come through `trust`).
  if (tsaRoots.length > 0) options.tsaRoots = tsaRoots;
  if (sources.requireTimestamp) options.requireTimestamp = true;
  return options;
}
