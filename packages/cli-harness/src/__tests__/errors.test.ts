import { ErstError } from '@erst/core';
import { describe, expect, it } from 'vitest';
import { errorReporting } from '../index.js';

const TOOL = errorReporting({
  name: 'tool',
  exitCodes: { verification: 1, input: 2, usage: 2, signer: 3, internal: 70 },
  flags: { keyId: '--key-id', tokenLabel: '--token-label' },
});
// Another program, other numbers: the table is per program (erst-batch has no exit status 3).
const OTHER = errorReporting({
  name: 'other-tool',
  exitCodes: { verification: 1, input: 2, usage: 2, signer: 2, internal: 70 },
  flags: {},
});

const badKeyId = new ErstError('ERR_OPTIONS_INVALID', '`keyId` must be hex bytes, not "zz"', {
  details: { options: ['keyId'] },
});

describe('errorReporting', () => {
  it('names the flags for the options a library quoted; other quoted names stay', () => {
    expect(TOOL.inFlagTerms('give `keyId` or `tokenLabel`; `nothing` here')).toBe(
      'give --key-id or --token-label; `nothing` here',
    );
    // Own properties only: an inherited name is no option.
    expect(TOOL.inFlagTerms('`toString` and `__proto__`')).toBe('`toString` and `__proto__`');
  });

  it('turns a bad option the program sets by flag into ERR_USAGE naming the flag, keeping the cause', () => {
    const e = TOOL.forCommandLine(badKeyId) as ErstError;
    expect(e.code).toBe('ERR_USAGE');
    expect(e.message).toBe('--key-id must be hex bytes, not "zz"');
    expect(e.cause).toBe(badKeyId);
    expect(TOOL.formatError(badKeyId)).toBe('tool: error ERR_USAGE: --key-id must be hex bytes, not "zz"');
    expect(TOOL.exitCodeFor(badKeyId)).toBe(2);
  });

  it('leaves an error alone when it names an option the program has no flag for, or none', () => {
    expect(OTHER.forCommandLine(badKeyId)).toBe(badKeyId);
    expect(OTHER.formatError(badKeyId)).toBe(
      'other-tool: error ERR_OPTIONS_INVALID: `keyId` must be hex bytes, not "zz"',
    );
    const plain = new ErstError('ERR_OPTIONS_INVALID', '`keyId` is wrong');
    expect(TOOL.forCommandLine(plain)).toBe(plain);
  });

  it("gives each category the program's own exit status", () => {
    const signer = new ErstError('ERR_KEY_MISSING', 'no key');
    expect(TOOL.exitCodeFor(signer)).toBe(3);
    expect(OTHER.exitCodeFor(signer)).toBe(2);
    expect(TOOL.exitCodeFor(new ErstError('ERR_SIGNATURE_INVALID', 'x'))).toBe(1);
    expect(TOOL.exitCodeFor(new ErstError('ERR_JSON_SYNTAX', 'x'))).toBe(2);
  });

  it('shows anything that is not an ErstError as a bug: ERR_INTERNAL, exit 70, one line without a stack', () => {
    const bug = new TypeError('boom');
    expect(TOOL.exitCodeFor(bug)).toBe(70);
    expect(OTHER.exitCodeFor('a string thrown')).toBe(70);
    expect(TOOL.formatError(bug)).toBe('tool: error ERR_INTERNAL: TypeError: boom (this is a bug; please report it)');
  });

  it('escapes what a message quotes from untrusted input, so it cannot draw on the terminal', () => {
    const line = TOOL.formatError(new ErstError('ERR_JSON_SYNTAX', 'field "\u001b[2J\u202e" is bad\nVALID'));
    expect(line).not.toMatch(/[\u001b\u202e\n]/);
    expect(line.startsWith('tool: error ERR_JSON_SYNTAX: field "')).toBe(true);
  });
});
