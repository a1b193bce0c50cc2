import type { RunContext } from '@erst/cli-harness';
import type { Argv, CommandModule } from 'yargs';

type Factory = (ctx: RunContext, name?: string) => CommandModule;

// Each subcommand's module (and what it loads: the batch pipeline, signers,
// the verifier) is imported only when the command line names it: start-up.
const SUBCOMMANDS: Record<string, () => Promise<Factory>> = {
  sign: async () => (await import('./audit-sign.js')).signCommand as Factory,
  verify: async () => (await import('./audit-verify.js')).verifyCommand as Factory,
  inspect: async () => (await import('./audit-inspect.js')).inspectCommand as Factory,
};

/** The top-level commands this module makes. */
export const AUDIT_WORDS = ['audit', 'audit:sign', 'audit:verify'] as const;

/**
 * Loads what `erst <word> [sub]` needs and returns the maker of its commands:
 * `erst audit <sign|verify|inspect>`, or erst's `audit:sign` and
 * `audit:verify` spellings. A `sub` that is no subcommand (none, a typo, an
 * option) loads them all, for the help listing and yargs' "did you mean".
 */
export async function auditCommands(
  word: (typeof AUDIT_WORDS)[number],
  sub?: string,
): Promise<(ctx: RunContext) => CommandModule[]> {
  if (word !== 'audit') {
    const which = word === 'audit:sign' ? 'sign' : 'verify';
    const make = await SUBCOMMANDS[which]!();
    return (ctx) => [{ ...make(ctx, word), describe: `Same as "audit ${which}" (erst spelling)` }];
  }
  const names = sub !== undefined && Object.hasOwn(SUBCOMMANDS, sub) ? [sub] : Object.keys(SUBCOMMANDS);
  const makers = await Promise.all(names.map((n) => SUBCOMMANDS[n]!()));
  return (ctx) => [
    {
      command: 'audit <command>',
      describe: 'Sign, verify and inspect audit records',
      builder: (y: Argv) => {
        let p = y;
        for (const make of makers) p = p.command(make(ctx));
        return p.demandCommand(1, 'Name an audit command: sign, verify or inspect.');
      },
      handler: () => {},
    },
  ];
}
