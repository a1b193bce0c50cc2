import { type CliApp, packageVersion, run } from '@erst/cli-harness';
import { auditCommands } from './commands/audit.js';
import { hsmCommand } from './commands/hsm.js';
import { keysCommand } from './commands/keys.js';
import { logCommand } from './commands/log.js';
import { logVerifyCommand } from './commands/log-verify.js';
import { ERRORS, EXIT_HELP } from './exit.js';
import type { CommandModule } from 'yargs';

const ERST: CliApp = {
  name: 'erst',
  description: 'Sign and verify tamper-evident audit logs of Stellar/Soroban transaction simulations.',
  version: packageVersion(new URL('../package.json', import.meta.url)),
  errors: ERRORS,
  commands: (parser, ctx) => {
    let p = parser
      .demandCommand(1, 'Name a command: audit, log, keys or hsm.')
      .epilogue(EXIT_HELP)
      // PEM text ("-----BEGIN ...") and "-" (stdin) are values, not flags.
      .parserConfiguration({ 'nargs-eats-options': true });
    for (const cmd of [
      ...auditCommands(ctx),
      logCommand(ctx, [logVerifyCommand(ctx) as CommandModule]),
      keysCommand(ctx),
      hsmCommand(ctx),
    ])
      p = p.command(cmd);
    return p;
  },
};

/** `erst` on `args`: its exit status. Help is wrapped to the terminal stdout is (none when it is not one). */
export function main(args: string[]): Promise<number> {
  return run(ERST, args);
}
