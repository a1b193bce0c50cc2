import { statSync } from 'node:fs';
// The one module of core this needs, not its index: a launcher loads as little as it can.
import { escapeForDisplay } from '@erst/core/display';

/**
 * Whether the command-line words that name existing paths name regular files
 * only, at most `maxBytes` of them in all: how a program decides, before it
 * loads anything, that a run is too small to need the threads a long run
 * wants. Flags (`-x`, `--x`) are skipped; flag values and words that name no
 * path (a key in hex, a command name) count for nothing. A directory, a
 * device, or a path that cannot be looked at (EACCES, a name too long) makes
 * it false: the command reports those itself, whichever thread runs it.
 *
 * @example
 * if (filesWithin(process.argv.slice(2), 1 << 20)) runHere(); else startThreads();
 */
export function filesWithin(args: readonly string[], maxBytes: number): boolean {
  let bytes = 0;
  for (const a of args) {
    if (a.startsWith('-')) continue;
    let s: ReturnType<typeof statSync>;
    try {
      s = statSync(a, { throwIfNoEntry: false });
    } catch {
      return false;
    }
    if (!s) continue;
    if (!s.isFile()) return false;
    bytes += s.size;
    if (bytes > maxBytes) return false;
  }
  return true;
}

/**
 * The last resort of a program's entry point, for `uncaughtException` and
 * `unhandledRejection`: anything that escapes is a bug, reported as one line
 * (`format`'s, the program's own coded line, loaded only now) and exit 70.
 * Once: a failure while reporting (the program's code itself failing to
 * load, in a broken install) must not report itself again, round and round
 * (a process that spun for ever, deaf to SIGTERM), so it gets a plain
 * `<name>: error ERR_INTERNAL: <message>` line instead.
 *
 * @example
 * const fatal = lastResort('erst-batch', async () => (await import('./main.js')).formatError);
 * process.on('uncaughtException', fatal);
 */
export function lastResort(
  name: string,
  format: () => Promise<(error: unknown) => string>,
): (error: unknown) => Promise<void> {
  let reporting = false;
  return async (error) => {
    if (reporting) return;
    reporting = true;
    let line: string;
    try {
      line = (await format())(error);
    } catch {
      // Escaped: a message may quote a path or text with terminal controls in it.
      const message = escapeForDisplay(error instanceof Error ? error.message : String(error));
      line = `${name}: error ERR_INTERNAL: ${message} (this is a bug, or a broken install; please report it)`;
    }
    process.stderr.write(`${line}\n`);
    process.exit(70);
  };
}
