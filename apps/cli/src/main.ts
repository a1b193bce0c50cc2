import { createRequire } from 'node:module';
import { ErstError } from '@erst/core';
import { helpWidth, joinPemValues, redactUsageMessage } from '@erst/node-io';
import type { Argv } from 'yargs';
import { auditCommands } from './commands/audit.js';
import { hsmCommand } from './commands/hsm.js';
import { keysCommand } from './commands/keys.js';
import { EXIT, EXIT_HELP, exitCodeFor, formatError } from './exit.js';

// The package's own version (yargs would look for the package.json of the working directory).
const VERSION = (createRequire(import.meta.url)('../package.json') as { version: string }).version;
// yargs' CommonJS build: its ESM build lays help out with a wrap that cuts
// words in the middle (flags, variable names, paths); this one breaks at spaces.
const yargs = createRequire(import.meta.url)('yargs/yargs') as (args: readonly string[]) => Argv;

/** Set by command handlers; read once the parse finishes. */
export interface RunContext {
  exitCode: number;
}

/** Wraps a handler so that every error becomes one coded line and its exit code. */
export function handle<A>(ctx: RunContext, fn: (argv: A) => Promise<number>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      ctx.exitCode = await fn(argv);
    } catch (error) {
      process.stderr.write(`${formatError(error)}\n`);
      ctx.exitCode = exitCodeFor(error);
    }
  };
}

export function buildParser(args: string[], ctx: RunContext): Argv {
  let parser = yargs(joinPemValues(args))
    .scriptName('erst')
    .usage('$0 <command>\n\nSign and verify tamper-evident audit logs of Stellar/Soroban transaction simulations.')
    .strict()
    .demandCommand(1, 'Name a command: audit, keys or hsm.')
    .epilogue(EXIT_HELP)
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(VERSION)
    .wrap(helpWidth(process.stdout.columns))
    .exitProcess(false)
    // PEM text ("-----BEGIN ...") and "-" (stdin) are values, not flags.
    .parserConfiguration({ 'nargs-eats-options': true })
    .fail((msg, err) => {
      // yargs calls this for usage errors (msg) and for errors thrown while parsing (err).
      if (err && !msg) throw err;
      // Thrown, not printed: yargs would otherwise go on to run the command's
      // handler with the arguments it has just refused. main() prints it.
      throw new ErstError('ERR_USAGE', `${redactUsageMessage(msg, args)} (run with --help for usage and examples)`);
    });
  for (const cmd of [...auditCommands(ctx), keysCommand(ctx), hsmCommand(ctx)]) parser = parser.command(cmd);
  return parser;
}

export async function main(args: string[]): Promise<number> {
  const ctx: RunContext = { exitCode: EXIT.OK };
  try {
    await buildParser(args, ctx).parseAsync();
  } catch (error) {
    process.stderr.write(`${formatError(error)}\n`);
    return exitCodeFor(error);
  }
  return ctx.exitCode;
}
