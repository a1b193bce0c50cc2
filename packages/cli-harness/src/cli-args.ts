/**
 * Argument handling shared by the erst and erst-batch command lines (both
 * parse with yargs): PEM text as a flag value, failure messages that never
 * print a value back, and help that fits the terminal.
 */

/**
 * Flags whose value is PEM text, or a path where PEM text or a seed lands by
 * mistake. yargs reads a value starting with "-" as the next flag, so
 * `--public-key "-----BEGIN PUBLIC KEY-----..."` fails, and quotes the PEM
 * back in its error.
 */
const PEM_VALUE_FLAGS = new Set([
  '--public-key',
  '--attestation-root',
  '--software-private-key',
  '--key-file',
  '--state-key',
]);

/**
 * Joins `--flag <PEM text>` into `--flag=<PEM text>`, the form yargs takes
 * whatever the value starts with. Arguments after `--` are left alone.
 */
export function joinPemValues(args: readonly string[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === '--') {
      out.push(...args.slice(i));
      break;
    }
    const next = args[i + 1];
    if (PEM_VALUE_FLAGS.has(arg) && next?.startsWith('-----BEGIN')) {
      out.push(`${arg}=${next}`);
      i++;
    } else {
      out.push(arg);
    }
  }
  return out;
}

const camelCase = (name: string): string => name.replace(/-+([a-z0-9])/gi, (_, c: string) => c.toUpperCase());
const PLAIN_FLAG_NAME = /^[A-Za-z][A-Za-z0-9-]{0,39}$/;

/** The option names as typed (`--name`, `--name=value`, `--no-name`, `-abc`), before any `--`. */
function typedFlagNames(args: readonly string[]): Set<string> {
  const names = new Set<string>();
  for (const arg of args) {
    if (arg === '--') break;
    if (!arg.startsWith('-') || arg === '-') continue;
    const name = arg.replace(/^-+/, '').split('=')[0]!;
    names.add(name);
    if (name.startsWith('no-')) names.add(name.slice(3));
    if (!arg.startsWith('--')) for (const c of name) names.add(c);
  }
  return names;
}

function unknownArguments(list: string, args: readonly string[]): string {
  const typed = typedFlagNames(args);
  const aliases = new Set([...typed].map(camelCase));
  const flags: string[] = [];
  let values = 0;
  // yargs lists unknown option names (and their camelCase twins) with the
  // values of unexpected positionals, joined by ", ".
  for (const item of list.split(', ')) {
    if (typed.has(item) && PLAIN_FLAG_NAME.test(item)) flags.push(item.length === 1 ? `-${item}` : `--${item}`);
    else if (!aliases.has(item)) values++;
  }
  const parts: string[] = [];
  if (flags.length > 0) parts.push(`unknown option${flags.length > 1 ? 's' : ''} ${flags.join(', ')}`);
  if (values > 0) {
    parts.push(
      `${values === 1 ? 'an unexpected argument' : `${values} unexpected arguments`} (not shown: it may be a key, seed or PIN)`,
    );
  }
  return parts.join('; ') || 'unknown arguments';
}

const INVALID_CHOICE = /Argument: ([\w-]+), Given: [\s\S]*?, Choices: ("[^"\n]*"(?:, "[^"\n]*")*)(?=\n|$)/g;

/**
 * Rewrites a yargs failure message so that it names flags and the kind of
 * problem, never a value: a key, seed or PIN typed in the wrong place would
 * otherwise be printed back (and end up in logs). yargs quotes values in two
 * messages: unknown arguments (the values of unexpected positionals) and
 * invalid choices. Every other message names only flags and counts.
 */
export function redactUsageMessage(msg: string, args: readonly string[]): string {
  const unknown = /^Unknown arguments?: ([\s\S]*)$/.exec(msg);
  if (unknown) return unknownArguments(unknown[1]!, args);
  if (msg.startsWith('Invalid values:')) {
    const bad = [...msg.matchAll(INVALID_CHOICE)].map((m) => `--${m[1]} must be one of ${m[2]}`);
    return `${bad.length > 0 ? bad.join('; ') : 'invalid value'} (the value given is not shown)`;
  }
  return msg;
}

/**
 * The width help is laid out for: the terminal's, but at least 80 columns.
 * Below that yargs would break flags and example commands in the middle;
 * the terminal folding a long line is better than a command that no longer
 * pastes. Not a terminal (help piped to a file or pager): no wrapping at all.
 */
export function helpWidth(terminalColumns: number | null | undefined): number | null {
  return terminalColumns ? Math.max(80, terminalColumns) : null;
}

/**
 * One help example as the list yargs' `.example()` takes: what it does as a
 * shell comment, then the command on lines of its own. yargs' two-column
 * layout gives a command at most half the width and breaks it there. Here a
 * line of up to 76 characters stays whole at 80 columns; a longer command is
 * given as several lines, continued the way a shell continues them (` \`),
 * so that the example still pastes into a shell as it is.
 */
export function helpExample(command: string | readonly string[], description: string): [string, string][] {
  const lines = typeof command === 'string' ? [command] : command;
  return [
    [`# ${description}`, ''],
    ...lines.map((line, i): [string, string] => [i < lines.length - 1 ? `${line} \\` : line, '']),
  ];
}
