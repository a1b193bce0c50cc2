import { type ArgsOf, closeOnSignals } from '@erst/cli-harness';
import { ErstError, escapeForDisplay } from '@erst/core';
import { readSecret } from '@erst/node-io';
// Types only: the native module loads when a pkcs11 command actually runs.
import type { AttestationMode, Pkcs11Config, Pkcs11Signer } from '@erst/signer-pkcs11';
import type { Argv } from 'yargs';
import { readInputFile } from '@erst/node-io';

/** Which module and token, and where the PIN comes from (never from a flag value). */
export function withTokenOptions<T>(y: Argv<T>, group = 'PKCS#11 token:') {
  return (
    y
      .option('pkcs11-module', {
        type: 'string',
        describe: 'PKCS#11 library path (or ERST_PKCS11_MODULE)',
        normalize: true,
      })
      .option('token-label', { type: 'string', describe: 'Token label (or ERST_PKCS11_TOKEN_LABEL)' })
      .option('slot', {
        type: 'string',
        describe: 'Slot index among slots with a token, or slot ID (or ERST_PKCS11_SLOT)',
      })
      .option('pin-file', {
        type: 'string',
        normalize: true,
        describe: 'File holding the user PIN (else ERST_PKCS11_PIN, else a hidden prompt on a terminal)',
      })
      // Declared only to refuse it: a PIN on the command line shows in `ps` and shell history.
      .option('pin', { type: 'string', hidden: true })
      .group(['pkcs11-module', 'token-label', 'slot', 'pin-file'], group)
  );
}

/** Token options plus which key and the attestation flags: what `audit sign --hsm-provider pkcs11` takes. */
export function withPkcs11KeyOptions<T>(y: Argv<T>) {
  return withTokenOptions(y, 'PKCS#11 (--hsm-provider pkcs11):')
    .option('key-label', { type: 'string', describe: 'Private key CKA_LABEL (or ERST_PKCS11_KEY_LABEL)' })
    .option('key-id', { type: 'string', describe: 'Private key CKA_ID in hex (or ERST_PKCS11_KEY_ID)' })
    .option('piv-slot', {
      type: 'string',
      describe: 'YubiKey PIV slot: 9a 9c 9d 9e 82-95 f9 (or ERST_PKCS11_PIV_SLOT)',
    })
    .option('algorithm', {
      type: 'string',
      choices: ['ed25519', 'ecdsa-p256'],
      describe: "Expected key algorithm (or ERST_PKCS11_ALGORITHM); default: the key's own",
    })
    .option('attestation-chain', {
      type: 'string',
      normalize: true,
      describe: 'PEM bundle of vendor certificates the token does not store',
    })
    .option('attestation', {
      type: 'boolean',
      default: true,
      describe: "Embed the token's attestation when it has one (--no-attestation leaves it out)",
    })
    .option('require-attestation', {
      type: 'boolean',
      describe: 'Fail (exit 3) when the token has no attestation for the key',
    })
    .group(
      ['key-label', 'key-id', 'piv-slot', 'algorithm', 'attestation-chain', 'attestation', 'require-attestation'],
      'PKCS#11 (--hsm-provider pkcs11):',
    );
}

export type TokenArgs = ArgsOf<typeof withTokenOptions>;
export type Pkcs11KeyArgs = ArgsOf<typeof withPkcs11KeyOptions>;

/** The PIN from --pin-file, else ERST_PKCS11_PIN, else (with `prompt`) a hidden prompt on a terminal. */
async function resolvePin(argv: TokenArgs, env: NodeJS.ProcessEnv, prompt: boolean): Promise<string | undefined> {
  if (argv.pin !== undefined) {
    throw new ErstError(
      'ERR_USAGE',
      'the PIN is never taken from a flag (it would show in ps and shell history): set ERST_PKCS11_PIN, use --pin-file <file>, or type it at the prompt',
    );
  }
  return readSecret({
    name: 'PIN',
    code: 'ERR_PKCS11_PIN_MISSING',
    file: argv['pin-file'],
    env: env.ERST_PKCS11_PIN,
    prompt: prompt ? 'PKCS#11 user PIN: ' : undefined,
    onWarning: (m) => process.stderr.write(`erst: warning: ${escapeForDisplay(m)}\n`),
  });
}

/** The token the flags name (module, token, slot) with the PIN resolved: what `erst hsm` commands open. */
export function tokenConfigFromArgs(
  argv: TokenArgs,
  env: NodeJS.ProcessEnv,
  promptForPin: boolean,
): Promise<Pkcs11Config> {
  const { 'pkcs11-module': module, 'token-label': label, slot, 'pin-file': pinFile, pin } = argv;
  const token = { 'pkcs11-module': module, 'token-label': label, slot, 'pin-file': pinFile, pin };
  return pkcs11ConfigFromArgs(token, env, promptForPin);
}

/** Flags over ERST_PKCS11_* variables, with the PIN resolved. */
async function pkcs11ConfigFromArgs(
  argv: TokenArgs & Partial<Pkcs11KeyArgs>,
  env: NodeJS.ProcessEnv,
  promptForPin: boolean,
): Promise<Pkcs11Config> {
  const lib = await import('@erst/signer-pkcs11');
  const attestation: AttestationMode = argv['require-attestation']
    ? 'required'
    : argv.attestation === false
      ? 'off'
      : 'auto';
  if (argv['require-attestation'] && argv.attestation === false) {
    throw new ErstError('ERR_USAGE', '--require-attestation and --no-attestation contradict each other');
  }
  const pin = await resolvePin(argv, env, promptForPin);
  return lib.pkcs11ConfigFromEnv(env, {
    module: argv['pkcs11-module'],
    tokenLabel: argv['token-label'],
    slot: argv.slot === undefined ? undefined : lib.parseSlot(argv.slot),
    keyLabel: argv['key-label'],
    keyId: argv['key-id'],
    pivSlot: argv['piv-slot'],
    algorithm: argv.algorithm as Pkcs11Config['algorithm'],
    attestation,
    attestationChain: argv['attestation-chain'] ? readInputFile(argv['attestation-chain']).toString('utf8') : undefined,
    pin,
  });
}

/**
 * Opens the PKCS#11 signer the flags and environment describe; `bulk` signs
 * on signing threads. Ctrl-C or SIGTERM while it is open logs out and closes
 * the sessions before exiting.
 */
export async function openPkcs11FromArgs(
  argv: Pkcs11KeyArgs,
  env: NodeJS.ProcessEnv,
  bulk = false,
): Promise<Pkcs11Signer> {
  const config = await pkcs11ConfigFromArgs(argv, env, true);
  const { openPkcs11Signer } = await import('@erst/signer-pkcs11');
  // Set in place: a spread copy would make the hidden PIN enumerable.
  config.threads = bulk;
  const signer = await openPkcs11Signer(config);
  return closeOnSignals(signer, (signal) => `erst: ${signal}: logging out of the token\n`);
}
