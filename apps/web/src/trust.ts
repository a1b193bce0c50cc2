import { ErstError, isErstError } from '@erst/core';
import { type TrustPolicy, type VerifyOptions, checkAttestationRoot, parseTrustFile } from '@erst/verify';

/** What the page's trust fields hold, as text: files were read into text before this. */
export interface TrustInput {
  /** Pasted public keys: hex, one a line, and SPKI PEM blocks. */
  keysText: string;
  /** A trust file and the PEM files its `attestation_roots` name, as picked together. */
  trustFiles: { name: string; text: string }[];
  /** Attestation roots: PEM files picked, and PEM text pasted. */
  rootFiles: { name: string; text: string }[];
  rootsText: string;
  /** Log verifier keys (`<origin>+<key ID>+<key>`), one a line. */
  logKeysText: string;
  requireAttestation: boolean;
  /** Roots of the Time-Stamp Authorities whose RFC 3161 tokens count: PEM files picked, and PEM text pasted. */
  tsaRootFiles: { name: string; text: string }[];
  tsaRootsText: string;
  requireTimestamp: boolean;
}

const PEM_BLOCK = /-----BEGIN ([A-Z ]+)-----[\s\S]*?-----END \1-----/g;

/** Pasted keys: every PEM block, then each remaining non-blank line (hex). */
export function splitKeys(text: string): string[] {
  const pems = [...text.matchAll(PEM_BLOCK)].map((m) => m[0]);
  const rest = text
    .replace(PEM_BLOCK, '\n')
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
  return [...pems, ...rest];
}

function lines(text: string): string[] {
  return text
    .split(/\r?\n/)
    .map((l) => l.trim())
    .filter((l) => l !== '');
}

/**
 * A trust file's `attestation_roots` that are paths resolve to the PEM files
 * picked with it, by file name: a page cannot read the disk, and it never
 * reads more than what was picked.
 */
function rootResolver(picked: readonly { name: string; text: string }[]): (reference: string) => string {
  return (reference) => {
    const base = reference.split('/').pop() ?? reference;
    const found = picked.find((f) => f.name === base);
    if (!found) {
      throw new ErstError('ERR_TRUST_FILE_INVALID', `pick ${base} together with the trust file: it names that root`);
    }
    return found.text;
  };
}

/**
 * Pinned roots, from PEM files picked and PEM blocks pasted: each must hold a
 * certificate, else ERR_OPTIONS_INVALID naming the option (and the file, never
 * its content), as loadTrustOptions refuses a --attestation-root or --tsa-root.
 */
function pinnedRoots(
  files: readonly { name: string; text: string }[],
  pasted: string,
  option: 'attestationRoots' | 'tsaRoots',
): string[] {
  return [
    ...files.map((f) => ({ text: f.text, where: `\`${option}\` ${f.name}` })),
    ...[...pasted.matchAll(PEM_BLOCK)].map((m, i) => ({ text: m[0], where: `\`${option}\` (pasted #${i + 1})` })),
  ].map(({ text, where }) => {
    try {
      return checkAttestationRoot(text, where, 'ERR_OPTIONS_INVALID');
    } catch (e) {
      if (!isErstError(e, 'ERR_OPTIONS_INVALID')) throw e;
      throw new ErstError('ERR_OPTIONS_INVALID', e.message, { cause: e, details: { options: [option] } });
    }
  });
}

/**
 * The page's trust fields as @erst/verify options, through the parsers the
 * command lines use (parseTrustFile, checkAttestationRoot): the same trust
 * file means the same thing here, and log keys, TSA roots and "require a
 * timestamp" reach the verifier as --log-key, --tsa-root and
 * --require-timestamp do. Throws ErstError: ERR_TRUST_FILE_INVALID for a
 * trust file the verifier refuses, ERR_OPTIONS_INVALID naming
 * `attestationRoots` or `tsaRoots` for a root that is not a certificate;
 * keys and log keys are checked by the Verifier itself (`collectTrust` in
 * main).
 */
export function trustOptions(t: TrustInput): VerifyOptions {
  const trust: TrustPolicy[] = [];
  const jsonFiles = t.trustFiles.filter((f) => f.name.toLowerCase().endsWith('.json'));
  if (jsonFiles.length > 1) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`trust` takes one trust file (and the root PEM files it names)', {
      details: { options: ['trust'] },
    });
  }
  for (const f of jsonFiles) trust.push(parseTrustFile(f.text, { resolveRoot: rootResolver(t.trustFiles) }));
  const roots = pinnedRoots(t.rootFiles, t.rootsText, 'attestationRoots');
  const tsaRoots = pinnedRoots(t.tsaRootFiles, t.tsaRootsText, 'tsaRoots');
  const options: VerifyOptions = {
    publicKeys: splitKeys(t.keysText),
    trust,
    attestationRoots: roots,
    requireAttestation: t.requireAttestation,
  };
  // As loadTrustOptions sets them for --log-key, --tsa-root and --require-timestamp: only when given.
  const logKeys = lines(t.logKeysText);
  if (logKeys.length > 0) options.logKeys = logKeys;
  if (tsaRoots.length > 0) options.tsaRoots = tsaRoots;
  if (t.requireTimestamp) options.requireTimestamp = true;
  return options;
}
