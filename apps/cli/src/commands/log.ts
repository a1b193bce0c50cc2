import { initSignerLog } from '@erst/batch-sign';
import { type RunContext, command, helpExample } from '@erst/cli-harness';
import { formatVerifierKey } from '@erst/tlog';
import type { Argv, CommandModule } from 'yargs';
import { EXIT } from '../exit.js';
import { displayLines } from '../output.js';
import { openSigner, withSignerOptions } from '../signers.js';

function withOrigin<T>(y: Argv<T>) {
  return y.option('origin', {
    type: 'string',
    demandOption: true,
    nargs: 1,
    describe: "The log's name, also its key's name in checkpoints (e.g. audit.example.com/log)",
  });
}

function initCommand(ctx: RunContext): CommandModule {
  return command(ctx, {
    command: 'init <dir>',
    describe: 'Create an empty log in <dir>, with a checkpoint of size 0 signed by the key',
    builder: (y: Argv) =>
      withOrigin(withSignerOptions(y))
        .positional('dir', { type: 'string', normalize: true, describe: 'The log directory (made if missing)' })
        .example([
          ...helpExample(
            '$0 log init /srv/log --origin audit.example.com/log --key-file key.pem',
            'A log whose checkpoints the software key signs',
          ),
          ...helpExample(
            ['$0 log init /srv/log --origin audit.example.com/log', '--hsm-provider pkcs11 --key-label audit-2026'],
            'A log whose checkpoints a PKCS#11 token signs',
          ),
        ]),
    run: async (argv) => {
      const signer = await openSigner(argv);
      try {
        // `<dir>` is a required positional: yargs refuses the command without it.
        const { log, created } = await initSignerLog(argv.dir!, signer, { origin: argv.origin });
        const vkey = formatVerifierKey(argv.origin, await signer.publicKey());
        const size = log.signedCheckpoint.size;
        await log.close();
        const what = created ? 'created' : `already holds this log (size ${size}); left as it is`;
        process.stderr.write(
          `${displayLines([`log ${argv.dir} ${what}: origin ${argv.origin}, verifier key ${vkey}`])}\n`,
        );
      } finally {
        await signer.close?.();
      }
      return EXIT.OK;
    },
  });
}

function verifierKeyCommand(ctx: RunContext): CommandModule {
  return command(ctx, {
    command: 'verifier-key',
    describe: "Print the verifier key string of a log's key (<origin>+<key ID>+<key>), for --log-key",
    builder: (y: Argv) =>
      withOrigin(withSignerOptions(y)).example(
        helpExample(
          '$0 log verifier-key --origin audit.example.com/log --key-file key.pem',
          'What verifiers of the log pin',
        ),
      ),
    run: async (argv) => {
      const signer = await openSigner(argv);
      try {
        // No signature: a verifier key is the public key under the origin's name.
        process.stdout.write(`${formatVerifierKey(argv.origin, await signer.publicKey())}\n`);
      } finally {
        await signer.close?.();
      }
      return EXIT.OK;
    },
  });
}

/**
 * `erst log <init|verifier-key>`, and the subcommands in `extra` (such as
 * `erst log verify`, registered from its own file) after them.
 */
export function logCommand(ctx: RunContext, extra: readonly CommandModule[] = []): CommandModule {
  return {
    command: 'log <command>',
    describe: 'Verifiable logs of audit records (C2SP tlog-tiles): create one, print its verifier key',
    builder: (y: Argv) => {
      let p = y.command(initCommand(ctx)).command(verifierKeyCommand(ctx));
      for (const cmd of extra) p = p.command(cmd);
      const names = ['init', 'verifier-key', ...extra.map((c) => String(c.command).split(' ')[0])];
      return p.demandCommand(1, `Name a log command: ${names.join(', ')}.`);
    },
    handler: () => {},
  };
}
