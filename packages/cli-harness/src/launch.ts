import { statSync } from 'node:fs';

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
