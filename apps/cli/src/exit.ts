import { TRUST_FLAGS, errorReporting } from '@erst/cli-harness';

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

/**
 * Libraries speak of their options, never of erst's flags: they quote an
 * option's name in backticks (`keyId`) and list it in `details.options`.
 * These are the flags that set them.
 */
const FLAG_FOR: Readonly<Record<string, string>> = {
  ...TRUST_FLAGS,
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
  // erst audit sign --batch (@erst/batch-sign)
  concurrency: '--concurrency',
  // erst log init / verifier-key, erst audit sign --log (@erst/tlog, @erst/batch-sign)
  origin: '--origin',
  log: '--log',
  checkpointEvery: '--checkpoint-every',
  recordSignature: '--no-record-signature',
  // erst audit sign --tsa-url (@erst/batch-sign tsaTimestamper, @erst/timestamp/client)
  tsaUrl: '--tsa-url',
  timeoutMs: '--tsa-timeout',
  retries: '--tsa-retries',
  tsaConcurrency: '--tsa-concurrency',
};

/** How erst shows an error (`erst: error <code>: ...`, flags for options) and the exit status it gives it. */
export const ERRORS = errorReporting({
  name: 'erst',
  exitCodes: {
    verification: EXIT.VERIFY_FAILED,
    input: EXIT.USAGE_OR_INPUT,
    usage: EXIT.USAGE_OR_INPUT,
    signer: EXIT.SIGNER,
    internal: EXIT.INTERNAL,
  },
  flags: FLAG_FOR,
});

export const { inFlagTerms, forCommandLine, exitCodeFor, formatError } = ERRORS;
