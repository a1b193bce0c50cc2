import { type ErrorCategory, ErstError, errorCategory, escapeForDisplay, internalError, isErstError } from '@erst/core';

/** Exit codes from docs/design.md: the contract scripts and cron jobs depend on. */
export const EXIT = {
  OK: 0,
  VERIFY_FAILED: 1,
  USAGE_OR_INPUT: 2,
  SIGNER: 3,
  /** A bug (ERR_INTERNAL): EX_SOFTWARE in sysexits.h, so it is never mistaken for bad input. */
  INTERNAL: 70,
} as const;

// Lines stay within 78 columns: yargs re-wraps longer ones on an 80-column
// terminal and loses their indentation.
export const EXIT_HELP = `Exit codes:
  0   every record is valid (or the command succeeded)
  1   a record failed verification (tampered, bad signature, untrusted
      key, attestation required)
  2   bad usage, or unreadable or malformed input
  3   signer or HSM environment error (module, token, PIN, key)
  70  internal error (ERR_INTERNAL): a bug in erst; please report it`;

const BY_CATEGORY: Record<ErrorCategory, number> = {
  verification: EXIT.VERIFY_FAILED,
  input: EXIT.USAGE_OR_INPUT,
  usage: EXIT.USAGE_OR_INPUT,
  signer: EXIT.SIGNER,
  internal: EXIT.INTERNAL,
};

/**
 * Libraries speak of their options, never of erst's flags: they quote an
 * option's name in backticks (`keyId`) and list it in `details.options`.
 * These are the flags that set them.
 */
const FLAG_FOR: Readonly<Record<string, string>> = {
  pem: '--software-private-key',
  keyFile: '--key-file',
  schema: '--schema',
  module: '--pkcs11-module',
  pin: '--pin-file <file> (or run on a terminal to be asked for it)',
  tokenLabel: '--token-label',
  slot: '--slot',
  keyLabel: '--key-label',
  keyId: '--key-id',
  pivSlot: '--piv-slot',
  algorithm: '--algorithm',
  attestationChain: '--attestation-chain',
  "attestation: 'off'": '--no-attestation',
  "attestation: 'required'": '--require-attestation',
  // erst hsm keys generate
  label: '--label',
  id: '--id',
};

/** Replaces the option names a library quoted in `text` with erst's flags; unknown names stay as they are. */
export function inFlagTerms(text: string): string {
  return text.replace(/`([^`\n]+)`/g, (quoted, name: string) =>
    Object.hasOwn(FLAG_FOR, name) ? FLAG_FOR[name]! : quoted,
  );
}

/**
 * The error as the person at the command line should see it: options named
 * by their flags, and a bad option given by flag (ERR_OPTIONS_INVALID) as the
 * usage error it is here (ERR_USAGE). Exit status is 2 either way.
 */
export function forCommandLine(error: unknown): unknown {
  if (!isErstError(error)) return error;
  const options = error.details?.options;
  if (!Array.isArray(options) || !options.every((o) => typeof o === 'string' && Object.hasOwn(FLAG_FOR, o)))
    return error;
  const code = error.code === 'ERR_OPTIONS_INVALID' ? 'ERR_USAGE' : error.code;
  return new ErstError(code, inFlagTerms(error.message), {
    cause: error,
    ...(error.details ? { details: error.details } : {}),
  });
}

/** Anything that is not an ErstError is a bug: exit 70, like ERR_INTERNAL. */
export function exitCodeFor(error: unknown): number {
  return BY_CATEGORY[errorCategory(internalError(forCommandLine(error)).code)];
}

/**
 * One line a person can act on: code and message, never a stack trace.
 * Messages quote field and file names from untrusted input, so they are escaped.
 */
export function formatError(error: unknown): string {
  const e = internalError(forCommandLine(error));
  const line = `erst: error ${e.code}: ${escapeForDisplay(e.message)}`;
  return e.code === 'ERR_INTERNAL' ? `${line} (this is a bug; please report it)` : line;
}
