import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { ErstError } from '@erst/core';
import type { Argv } from 'yargs';
import { helpWidth, joinPemValues, redactUsageMessage } from './cli-args.js';

/** What the harness needs to set up a program's parser. */
/**
 * The arguments a builder declares, as yargs types them from its `.option()`
 * calls: one declaration per flag, no hand-written interface to drift from it.
 */
export type ArgsOf<B extends (y: Argv) => Argv<unknown>> = ReturnType<B> extends Argv<infer A> ? A : never;

export interface ParserSetup {
  /** The program's name, as help and error lines show it. */
  readonly name: string;
  /** What the program does: shown under the usage line of the top-level help. */
  readonly description: string;
  /** What --version prints: the program's own, see `packageVersion`. */
  readonly version: string;
}

/**
 * The version in a program's own package.json (yargs would look for the
 * package.json of the working directory).
 *
 * @example
 * const VERSION = packageVersion(new URL('../package.json', import.meta.url));
 */
export function packageVersion(packageJson: URL): string {
  return (JSON.parse(readFileSync(packageJson, 'utf8')) as { version: string }).version;
}

/**
 * yargs' CommonJS build: its ESM build lays help out with a wrap that cuts
 * words in the middle (flags, variable names, paths); this one breaks at spaces.
 */
function loadYargs(): (args: readonly string[]) => Argv {
  return createRequire(import.meta.url)('yargs/yargs') as (args: readonly string[]) => Argv;
}

/**
 * A strict parser for `args` that never exits the process, with help wrapped
 * to `columns` (the terminal's width; none when not a terminal) without
 * breaking a flag or an example, and usage errors thrown as ERR_USAGE with any
 * value the person typed left out. The program adds its commands.
 */
export function createParser(args: readonly string[], setup: ParserSetup, columns: number | null | undefined): Argv {
  const parser = loadYargs()(joinPemValues(args));
  skipHelpCache(parser);
  return parser
    .scriptName(setup.name)
    .usage(`$0 <command>\n\n${setup.description}`)
    .strict()
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version(setup.version)
    .wrap(helpWidth(columns))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs calls this for usage errors (msg) and for errors thrown while parsing (err).
      if (err && !msg) throw err;
      // Thrown, not printed: yargs would otherwise go on to run the command's
      // handler with the arguments it has just refused. run() prints it.
      throw new ErstError('ERR_USAGE', `${redactUsageMessage(msg, args)} (run with --help for usage and examples)`);
    });
}

/**
 * yargs renders the whole help text of the command that ran right after
 * starting its handler (its usage instance's `cacheHelpMessage`), so that a
 * later `showHelp()` prints that command's help. These programs never call
 * `showHelp()`: `--help` is answered before any handler runs, and a usage
 * error is thrown as one line by `.fail()`. The rendering (cliui, string
 * widths, wrapping every option) was 6-12% of the JavaScript that
 * `erst audit verify one.json` runs. yargs 17 has no option for it, so the
 * method is replaced on this instance only; a yargs without it is left as is.
 */
function skipHelpCache(parser: Argv): void {
  const internal = (parser as { getInternalMethods?: () => { getUsageInstance?: () => unknown } }).getInternalMethods;
  const usage = typeof internal === 'function' ? internal.call(parser).getUsageInstance?.() : undefined;
  if (usage && typeof (usage as { cacheHelpMessage?: unknown }).cacheHelpMessage === 'function') {
    (usage as { cacheHelpMessage: () => void }).cacheHelpMessage = () => {};
  }
}
