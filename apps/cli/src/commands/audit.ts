import type { RunContext } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';
import { inspectCommand } from './audit-inspect.js';
import { signCommand } from './audit-sign.js';
import { verifyCommand } from './audit-verify.js';

/** `erst audit <sign|verify|inspect>`, plus erst's `audit:sign` and `audit:verify` spellings. */
export function auditCommands(ctx: RunContext): CommandModule[] {
  const group: CommandModule = {
    command: 'audit <command>',
    describe: 'Sign, verify and inspect audit records',
    builder: (y: Argv) =>
      y
        .command(signCommand(ctx) as CommandModule)
        .command(verifyCommand(ctx) as CommandModule)
        .command(inspectCommand(ctx) as CommandModule)
        .demandCommand(1, 'Name an audit command: sign, verify or inspect.'),
    handler: () => {},
  };
  const signAlias = {
    ...signCommand(ctx, 'audit:sign'),
    describe: 'Same as "audit sign" (erst spelling)',
  } as CommandModule;
  const verifyAlias = {
    ...verifyCommand(ctx, 'audit:verify'),
    describe: 'Same as "audit verify" (erst spelling)',
  } as CommandModule;
  return [group, signAlias, verifyAlias];
}
