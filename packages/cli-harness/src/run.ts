import type { Argv, CommandModule } from 'yargs';
import type { ErrorReporting } from './errors.js';
import { type ParserSetup, createParser } from './parser.js';

/** One run of a program: set by its command handlers, read once the parse finishes. */
export interface RunContext {
  exitCode: number;
  /** How the program shows an error and which exit status it gives it. */
  readonly errors: ErrorReporting;
}

/** A program: its parser set-up, its error table, and its commands. */
export interface CliApp extends ParserSetup {
  readonly errors: ErrorReporting;
  /** Adds the program's commands (and anything else of its own) to the parser the harness set up. */
  commands(parser: Argv, ctx: RunContext): Argv;
}

/**
 * Wraps a command handler: what it returns is the exit status, and whatever
 * it throws becomes one coded line on stderr and that error's exit status.
 */
export function handle<A>(ctx: RunContext, fn: (argv: A) => Promise<number>): (argv: A) => Promise<void> {
  return async (argv) => {
    try {
      ctx.exitCode = await fn(argv);
    } catch (error) {
      process.stderr.write(`${ctx.errors.formatError(error)}\n`);
      ctx.exitCode = ctx.errors.exitCodeFor(error);
    }
  };
}

/** A command: its yargs declarations, and what it does with the arguments they parse (an exit status). */
export interface CommandSpec<A> {
  readonly command: string;
  readonly describe: string;
  readonly builder: (y: Argv) => Argv<A>;
  readonly run: (argv: A) => Promise<number>;
}

/**
 * A yargs command whose `run` is typed by its builder's declarations (no
 * hand-written interface to drift from them) and wrapped by `handle`.
 */
export function command<A>(ctx: RunContext, spec: CommandSpec<A>): CommandModule {
  const { run: fn, ...module } = spec;
  return { ...module, handler: handle(ctx, fn) } as unknown as CommandModule;
}

/**
 * Runs `app` on `args` and returns its exit status; never throws and never
 * exits the process. `columns`: the terminal's width, for --help (none when
 * stdout is not a terminal).
 */
export async function run(app: CliApp, args: readonly string[], columns = process.stdout.columns): Promise<number> {
  const ctx: RunContext = { exitCode: 0, errors: app.errors };
  try {
    await app.commands(createParser(args, app, columns), ctx).parseAsync();
  } catch (error) {
    process.stderr.write(`${app.errors.formatError(error)}\n`);
    return app.errors.exitCodeFor(error);
  }
  return ctx.exitCode;
}
