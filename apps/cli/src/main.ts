import { type CliApp, type RunContext, packageVersion, run } from '@erst/cli-harness';
import type { CommandModule } from 'yargs';
import { AUDIT_WORDS, auditCommands } from './commands/audit.js';
import { ERRORS, EXIT_HELP } from './exit.js';

type Commands = (ctx: RunContext) => CommandModule[];

// A command's module, and everything it imports, is loaded only when the
// command line names that command (start-up: `erst audit verify` loads the
// verifier, not the signers, the log or the HSM tools). In help order.
const COMMANDS: Record<string, (sub?: string) => Promise<Commands>> = {
  ...Object.fromEntries(AUDIT_WORDS.map((w) => [w, (sub?: string) => auditCommands(w, sub)])),
  log: async () => {
    const [{ logCommand }, { logVerifyCommand }] = await Promise.all([
      import('./commands/log.js'),
      import('./commands/log-verify.js'),
    ]);
    return (ctx) => [logCommand(ctx, [logVerifyCommand(ctx) as CommandModule])];
  },
  keys: async () => {
    const { keysCommand } = await import('./commands/keys.js');
    return (ctx) => [keysCommand(ctx)];
  },
  hsm: async () => {
    const { hsmCommand } = await import('./commands/hsm.js');
    return (ctx) => [hsmCommand(ctx)];
  },
};

/**
 * Loads the commands `args` needs: the one it names; none when it names none
 * and asks for no help (--version, or the "name a command" error); else every
 * command, for the help listing and yargs' "did you mean".
 */
async function commandsFor(args: readonly string[]): Promise<Commands[]> {
  const [word, sub] = args.filter((a) => !a.startsWith('-'));
  if (word !== undefined && Object.hasOwn(COMMANDS, word)) return [await COMMANDS[word]!(sub)];
  if (word === undefined && !args.some((a) => a === '--help' || a === '-h')) return [];
  return Promise.all(Object.values(COMMANDS).map((load) => load()));
}

/** `erst` on `args`: its exit status. Help is wrapped to the terminal stdout is (none when it is not one). */
export async function main(args: string[]): Promise<number> {
  let commands: Commands[];
  try {
    commands = await commandsFor(args);
  } catch (error) {
    // A module that cannot be loaded is a broken installation: one coded line, as any bug.
    process.stderr.write(`${ERRORS.formatError(error)}\n`);
    return ERRORS.exitCodeFor(error);
  }
  const erst: CliApp = {
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
      for (const make of commands) for (const cmd of make(ctx)) p = p.command(cmd);
      return p;
    },
  };
  return run(erst, args);
}
