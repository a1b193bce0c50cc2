import { type ErrorCategory, errorCategory, escapeForDisplay, isErstError } from '@erst/core';

/** Exit codes from DESIGN.md: the contract scripts and cron jobs depend on. */
export const EXIT = {
  OK: 0,
  VERIFY_FAILED: 1,
  USAGE_OR_INPUT: 2,
  SIGNER: 3,
} as const;

const BY_CATEGORY: Record<ErrorCategory, number> = {
  verification: EXIT.VERIFY_FAILED,
  input: EXIT.USAGE_OR_INPUT,
  usage: EXIT.USAGE_OR_INPUT,
  signer: EXIT.SIGNER,
};

export function exitCodeFor(error: unknown): number {
  return isErstError(error) ? BY_CATEGORY[errorCategory(error.code)] : EXIT.USAGE_OR_INPUT;
}

/**
 * One line a person can act on: code and message, never a stack trace.
 * Messages quote field and file names from untrusted input, so they are escaped.
 */
export function formatError(error: unknown): string {
  if (isErstError(error)) return `erst: error ${error.code}: ${escapeForDisplay(error.message)}`;
  const msg = error instanceof Error ? error.message : String(error);
  return `erst: error ERR_INTERNAL: ${escapeForDisplay(msg)} (this is a bug; please report it)`;
}
