import { readFileSync, statSync } from 'node:fs';
import { ErstError, type Signer, escapeForDisplay } from '@erst/core';
// Types only: the native module loads when a pkcs11 command actually runs.
import type { AttestationMode, Pkcs11Config, Pkcs11Signer } from '@erst/signer-pkcs11';
import type { Argv } from 'yargs';
import { readInputFile } from './io.js';

export interface TokenArgs {
  'pkcs11-module'?: string | undefined;
  'token-label'?: string | undefined;
  slot?: string | undefined;
  'pin-file'?: string | undefined;
  pin?: unknown;
}

export interface Pkcs11KeyArgs extends TokenArgs {
  'key-label'?: string | undefined;
  'key-id'?: string | undefined;
  'piv-slot'?: string | undefined;
  algorithm?: string | undefined;
  'attestation-chain'?: string | undefined;
  attestation?: boolean | undefined;
  'require-attestation'?: boolean | undefined;
}

export const TOKEN_OPTIONS = ['pkcs11-module', 'token-label', 'slot', 'pin-file'] as const;
export const KEY_OPTIONS = ['key-label', 'key-id', 'piv-slot', 'algorithm'] as const;
export const ATTESTATION_OPTIONS = ['attestation-chain', 'attestation', 'require-attestation'] as const;

/** Which module and token, and where the PIN comes from (never from a flag value). */
export function withTokenOptions<T>(y: Argv<T>, group = 'PKCS#11 token:'): Argv<T & TokenArgs> {
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
      .group([...TOKEN_OPTIONS], group) as Argv<T & TokenArgs>
  );
}

/** Token options plus which key and the attestation flags: what `audit sign --hsm-provider pkcs11` takes. */
export function withPkcs11KeyOptions<T>(y: Argv<T>): Argv<T & Pkcs11KeyArgs> {
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
    .group([...KEY_OPTIONS, ...ATTESTATION_OPTIONS], 'PKCS#11 (--hsm-provider pkcs11):') as Argv<T & Pkcs11KeyArgs>;
}

function refusePinFlag(argv: TokenArgs): void {
  if (argv.pin !== undefined) {
    throw new ErstError(
      'ERR_USAGE',
      'the PIN is never taken from a flag (it would show in ps and shell history): set ERST_PKCS11_PIN, use --pin-file <file>, or type it at the prompt',
    );
  }
}

export function readPinFile(path: string): string {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (st.mode & 0o077)
      process.stderr.write(
        `erst: warning: PIN file ${escapeForDisplay(path)} is readable by other users; chmod 600 it\n`,
      );
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const code = (cause as { code?: string }).code;
    // Not the path: a PIN typed where its file's path belongs would be printed back.
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a directory' : (code ?? 'error');
    throw new ErstError('ERR_PKCS11_PIN_MISSING', `cannot read the file given with --pin-file: ${why}`);
  }
  const pin = text.replace(/\r?\n$/, '');
  if (pin.length === 0)
    throw new ErstError('ERR_PKCS11_PIN_MISSING', `the PIN file ${path} is empty`, { details: { file: path } });
  return pin;
}

/** Reads a line from the terminal without echoing it. */
export function promptHidden(question: string): Promise<string> {
  const stdin = process.stdin;
  return new Promise((resolve, reject) => {
    let pin = '';
    process.stderr.write(question);
    const finish = () => {
      stdin.off('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      process.stderr.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(pin);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new ErstError('ERR_PKCS11_PIN_MISSING', 'PIN entry cancelled'));
          return;
        }
        if (ch === '\u007f' || ch === '\b') pin = pin.slice(0, -1);
        else pin += ch;
      }
    };
    stdin.setEncoding('utf8');
    stdin.setRawMode(true);
    stdin.resume();
    stdin.on('data', onData);
  });
}

/** The PIN from --pin-file, else ERST_PKCS11_PIN, else a hidden prompt when stdin is a terminal (and `prompt`). */
export async function resolvePin(
  argv: TokenArgs,
  env: NodeJS.ProcessEnv,
  prompt: boolean,
): Promise<string | undefined> {
  refusePinFlag(argv);
  if (argv['pin-file']) return readPinFile(argv['pin-file']);
  if (env.ERST_PKCS11_PIN) return env.ERST_PKCS11_PIN;
  if (prompt && process.stdin.isTTY) return promptHidden('PKCS#11 user PIN: ');
  return undefined;
}

/** Flags over ERST_PKCS11_* variables, with the PIN resolved. */
export async function pkcs11ConfigFromArgs(
  argv: Pkcs11KeyArgs,
  env: NodeJS.ProcessEnv,
  options: { promptForPin: boolean },
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
  const pin = await resolvePin(argv, env, options.promptForPin);
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
  const config = await pkcs11ConfigFromArgs(argv, env, { promptForPin: true });
  const { openPkcs11Signer } = await import('@erst/signer-pkcs11');
  // Set in place: a spread copy would make the hidden PIN enumerable.
  config.threads = bulk;
  const signer = await openPkcs11Signer(config);
  return closeOnSignals(signer);
}

/**
 * Makes SIGINT/SIGTERM close the signer (logout, C_Finalize) before the
 * process exits. Only `close` is replaced, on the signer itself, so that
 * everything else it offers (signMessage for checkpoints, stats) stays.
 */
export function closeOnSignals<S extends Signer>(signer: S): S {
  const close = signer.close?.bind(signer);
  const onSignal = (signal: NodeJS.Signals) => {
    process.stderr.write(`erst: ${signal}: logging out of the token\n`);
    void Promise.resolve(close?.()).finally(() => process.exit(signal === 'SIGINT' ? 130 : 143));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  signer.close = async () => {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
    await close?.();
  };
  return signer;
}
