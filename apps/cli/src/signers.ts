import { ErstError, type Signer, escapeForDisplay } from '@erst/core';
import { ThreadedSigner, loadSoftwareSigner } from '@erst/signer-memory';
import type { Argv } from 'yargs';
import { openPkcs11FromArgs, withPkcs11KeyOptions } from './pkcs11-args.js';
import type { ArgsOf } from '@erst/cli-harness';

/** Flags that choose the signing key, shared by `audit sign` and `keys public`. */
export function withSignerOptions<T>(y: Argv<T>) {
  const signing = y
    .option('hsm-provider', {
      type: 'string',
      choices: ['software', 'pkcs11'],
      default: 'software',
      describe: 'Where the signing key lives',
    })
    .option('software-private-key', {
      type: 'string',
      nargs: 1,
      describe: 'Ed25519 private key, PKCS#8 PEM text (or set ERST_AUDIT_PRIVATE_KEY_PEM)',
    })
    .option('key-file', {
      type: 'string',
      describe: 'Path of an Ed25519 PKCS#8 PEM key file (mode 0600)',
      normalize: true,
    })
    .group(['hsm-provider', 'software-private-key', 'key-file'], 'Signing key:');
  return withPkcs11KeyOptions(signing);
}

export type SignerArgs = ArgsOf<typeof withSignerOptions>;

/**
 * Opens the signer the flags and environment name. Callers close it.
 * `bulk` (batch signing) signs on threads of the signer's own: a software key
 * on a signing thread, a PKCS#11 key on signing threads per session.
 */
export async function openSigner(
  argv: SignerArgs,
  env: NodeJS.ProcessEnv = process.env,
  bulk = false,
): Promise<Signer> {
  if (argv['hsm-provider'] === 'pkcs11') return openPkcs11FromArgs(argv, env, bulk);
  if (argv['key-file']?.startsWith('-----BEGIN')) {
    throw new ErstError(
      'ERR_USAGE',
      '--key-file takes the path of a key file, not PEM text: give PEM text with --software-private-key or ERST_AUDIT_PRIVATE_KEY_PEM',
    );
  }
  const signer = loadSoftwareSigner({
    pem: argv['software-private-key'],
    keyFile: argv['key-file'],
    env,
    onWarning: (m) => process.stderr.write(`erst: warning: ${escapeForDisplay(m)}\n`),
  });
  return bulk ? ThreadedSigner.from(signer) : signer;
}
