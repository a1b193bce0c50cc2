import { type ErrorCategory, ErstError, errorCategory, escapeForDisplay, internalError, isErstError } from '@erst/core';

/** What sets one command line's errors apart from another's. */
export interface ErrorTable {
  /** The program's name, which starts every error line (`erst: error ERR_...: ...`). */
  readonly name: string;
  /** The exit status of each error category: the contract scripts and cron jobs depend on (docs/design.md). */
  readonly exitCodes: Readonly<Record<ErrorCategory, number>>;
  /**
   * Libraries speak of their options, never of a program's flags: they quote
   * an option's name in backticks (`keyId`) and list it in `details.options`.
   * The flag that sets each option.
   */
  readonly flags: Readonly<Record<string, string>>;
}

/** One program's way of showing an error and choosing its exit status. */
export interface ErrorReporting {
  /** Replaces the option names a library quoted in `text` with the program's flags; unknown names stay as they are. */
  inFlagTerms(text: string): string;
  /**
   * The error as the person at the command line should see it: options named
   * by their flags, and a bad option given by flag (ERR_OPTIONS_INVALID) as
   * the usage error it is there (ERR_USAGE). Left alone when it names an
   * option the program has no flag for.
   */
  forCommandLine(error: unknown): unknown;
  /** The exit status for `error`; anything that is not an ErstError is a bug, like ERR_INTERNAL. */
  exitCodeFor(error: unknown): number;
  /**
   * One line a person can act on: code and message, never a stack trace.
   * Messages quote field and file names from untrusted input, so they are escaped.
   */
  formatError(error: unknown): string;
}

/**
 * The error functions of the program `table` describes.
 *
 * @example
 * export const { exitCodeFor, formatError } = errorReporting({ name: 'erst', exitCodes, flags: FLAG_FOR });
 */
export function errorReporting(table: ErrorTable): ErrorReporting {
  const { name, exitCodes, flags } = table;
  const inFlagTerms = (text: string): string =>
    text.replace(/`([^`\n]+)`/g, (quoted, option: string) => (Object.hasOwn(flags, option) ? flags[option]! : quoted));
  const forCommandLine = (error: unknown): unknown => {
    if (!isErstError(error)) return error;
    const options = error.details?.options;
    if (!Array.isArray(options) || !options.every((o) => typeof o === 'string' && Object.hasOwn(flags, o)))
      return error;
    const code = error.code === 'ERR_OPTIONS_INVALID' ? 'ERR_USAGE' : error.code;
    return new ErstError(code, inFlagTerms(error.message), {
      cause: error,
      ...(error.details ? { details: error.details } : {}),
    });
  };
  return {
    inFlagTerms,
    forCommandLine,
    exitCodeFor: (error) => exitCodes[errorCategory(internalError(forCommandLine(error)).code)],
    formatError: (error) => {
      const e = internalError(forCommandLine(error));
      const line = `${name}: error ${e.code}: ${escapeForDisplay(e.message)}`;
      return e.code === 'ERR_INTERNAL' ? `${line} (this is a bug; please report it)` : line;
    },
  };
}
