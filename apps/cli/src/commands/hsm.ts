import { bytesToHex, publicKeyToPem } from '@erst/core';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';
import { EXIT, inFlagTerms } from '../exit.js';
import { displayLines } from '../output.js';
import { tokenConfigFromArgs, withTokenOptions } from '../pkcs11-args.js';

const WITH_ENV = 'with ERST_PKCS11_MODULE and ERST_PKCS11_PIN set';

export function hsmCommand(ctx: RunContext): CommandModule {
  const info = command(ctx, {
    command: 'info',
    describe: 'Show the PKCS#11 module, its slots and tokens, the mechanisms erst needs, and the keys on the token',
    builder: (y: Argv) =>
      withTokenOptions(y)
        .option('json', { type: 'boolean', describe: 'Print JSON' })
        .option('login', { type: 'boolean', describe: 'Ask for the PIN on a terminal to list private keys too' })
        .example([
          ...helpExample('$0 hsm info', `Everything about the token, private keys included (${WITH_ENV})`),
          ...helpExample(
            '$0 hsm info --pkcs11-module /usr/lib/softhsm/libsofthsm2.so --json',
            'Slots, tokens and public objects as JSON',
          ),
        ]),
    run: async (argv) => {
      const lib = await import('@erst/signer-pkcs11');
      const result = await lib.hsmInfo(await tokenConfigFromArgs(argv, process.env, argv.login === true));
      const text = argv.json
        ? JSON.stringify(result, null, 2)
        : displayLines(lib.describeHsmInfoText(result, inFlagTerms));
      process.stdout.write(`${text}\n`);
      return EXIT.OK;
    },
  });

  const generate = command(ctx, {
    command: 'generate',
    describe: 'Generate a key pair on the token (sensitive, never extractable) and print its public key',
    builder: (y: Argv) =>
      withTokenOptions(y)
        .option('label', { type: 'string', demandOption: true, describe: 'CKA_LABEL of the new key pair' })
        .option('id', { type: 'string', describe: 'CKA_ID in hex (default: 8 random bytes)' })
        .option('piv-slot', { type: 'string', describe: 'YubiKey PIV slot to generate in (sets the CKA_ID)' })
        .option('algorithm', {
          type: 'string',
          choices: ['ed25519', 'ecdsa-p256'],
          default: 'ed25519',
          describe: 'Key algorithm',
        })
        .option('pem', { type: 'boolean', describe: 'Print SPKI PEM instead of hex' })
        .example([
          ...helpExample(
            '$0 hsm keys generate --label audit-2026',
            `Make an Ed25519 signing key on the token and print it (${WITH_ENV})`,
          ),
          ...helpExample(
            '$0 hsm keys generate --label audit-p256 --id 0a --algorithm ecdsa-p256',
            'An ECDSA P-256 key (YubiKeys before firmware 5.7)',
          ),
          ...helpExample(
            '$0 hsm keys generate --label audit --piv-slot 9c --algorithm ecdsa-p256',
            'On a YubiKey (ykcs11): in PIV slot 9c',
          ),
        ]),
    run: async (argv) => {
      const lib = await import('@erst/signer-pkcs11');
      const config = await tokenConfigFromArgs(argv, process.env, true);
      const key = await lib.generateTokenKeyPair({
        module: config.module,
        tokenLabel: config.tokenLabel,
        slot: config.slot,
        pin: config.pin,
        label: argv.label,
        id: argv.id,
        pivSlot: argv['piv-slot'],
        algorithm: lib.parseAlgorithm(argv.algorithm),
      });
      process.stdout.write(argv.pem ? publicKeyToPem(key.publicKey) : `${bytesToHex(key.publicKey.raw)}\n`);
      process.stderr.write(
        `${displayLines([
          `generated ${key.algorithm} key "${key.label}" (ID ${key.id}) on token "${key.tokenLabel}": sensitive, not extractable.`,
          `Sign with: erst audit sign --hsm-provider pkcs11 --key-label ${JSON.stringify(key.label)} ...; pin the public key above with --public-key`,
        ])}\n`,
      );
      return EXIT.OK;
    },
  });

  const keys: CommandModule = {
    command: 'keys <command>',
    describe: 'Manage keys on the token',
    builder: (y: Argv) =>
      y
        .command(generate)
        .demandCommand(1, 'Name an hsm keys command: generate.')
        .example(
          helpExample(
            '$0 hsm keys generate --label audit-2026',
            `Make an Ed25519 signing key on the token (${WITH_ENV})`,
          ),
        ),
    handler: () => {},
  };

  return {
    command: 'hsm <command>',
    describe: 'Inspect a PKCS#11 token (HSM, YubiKey, SoftHSM) and make keys on it',
    builder: (y: Argv) =>
      y
        .command(info)
        .command(keys)
        .demandCommand(1, 'Name an hsm command: info or keys.')
        .example(helpExample('$0 hsm info', `What the token holds (${WITH_ENV})`)),
    handler: () => {},
  };
}
