import { existsSync } from 'node:fs';
import { ErstError, publicKeyToPem, bytesToHex } from '@erst/core';
import { generateKeyPair } from '@erst/signer-memory';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { writeOutput } from '@erst/node-io';
import { displayLines } from '../output.js';
import { openSigner, withSignerOptions } from '../signers.js';

export function keysCommand(ctx: RunContext): CommandModule {
  const generate = command(ctx, {
    command: 'generate',
    describe: 'Generate an Ed25519 key (PKCS#8 PEM, mode 0600) and print its public key',
    builder: (y: Argv) =>
      y
        .option('out', {
          type: 'string',
          demandOption: true,
          normalize: true,
          describe: 'Where to write the private key',
        })
        .option('force', { type: 'boolean', describe: 'Replace an existing file' })
        .example(helpExample('$0 keys generate --out key.pem', 'Make a signing key; pin the printed public key')),
    run: async (argv) => {
      if (existsSync(argv.out) && !argv.force) {
        throw new ErstError('ERR_USAGE', `${argv.out} exists; pass --force to replace it`);
      }
      const key = generateKeyPair();
      writeOutput(argv.out, key.pkcs8Pem, 0o600);
      process.stdout.write(`${key.publicKeyHex}\n`);
      process.stderr.write(
        `${displayLines([`wrote Ed25519 private key to ${argv.out} (mode 0600); pin the public key above with --public-key`])}\n`,
      );
      return EXIT.OK;
    },
  });
  const pub = command(ctx, {
    command: 'public',
    describe: 'Print the public key of a signing key (hex, or --pem)',
    builder: (y: Argv) =>
      withSignerOptions(y)
        .option('pem', { type: 'boolean', describe: 'Print SPKI PEM instead of hex' })
        .example(helpExample('$0 keys public --key-file key.pem', 'The hex to pin with --public-key')),
    run: async (argv) => {
      const signer = await openSigner(argv);
      try {
        const key = await signer.publicKey();
        process.stdout.write(argv.pem ? publicKeyToPem(key) : `${bytesToHex(key.raw)}\n`);
      } finally {
        await signer.close?.();
      }
      return EXIT.OK;
    },
  });
  return {
    command: 'keys <command>',
    describe: 'Generate signing keys and print public keys',
    builder: (y: Argv) => y.command(generate).command(pub).demandCommand(1, 'Name a keys command: generate or public.'),
    handler: () => {},
  };
}
