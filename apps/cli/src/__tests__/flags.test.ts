import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { ErstError } from '@erst/core';
import { runCli, tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { exitCodeFor, forCommandLine, formatError, inFlagTerms } from '../exit.js';
import { sources } from './sources.js';

describe('library errors name options; erst names its flags', () => {
  it('turns a bad option given by flag into ERR_USAGE naming the flag', () => {
    const lib = new ErstError('ERR_OPTIONS_INVALID', '`keyId` must be hex bytes (for example 01 or a1b2c3), not "zz"', {
      details: { options: ['keyId'] },
    });
    expect(formatError(lib)).toBe(
      'erst: error ERR_USAGE: --key-id must be hex bytes (for example 01 or a1b2c3), not "zz"',
    );
    expect(exitCodeFor(lib)).toBe(2);
    expect((forCommandLine(lib) as ErstError).cause).toBe(lib);
  });

  it('keeps other codes, and their exit status, while naming the flags', () => {
    const missing = new ErstError(
      'ERR_KEY_MISSING',
      'no signing key: give `pem` or `keyFile`, or set ERST_AUDIT_PRIVATE_KEY_PEM',
      {
        details: { options: ['pem', 'keyFile'] },
      },
    );
    expect(formatError(missing)).toBe(
      'erst: error ERR_KEY_MISSING: no signing key: give --software-private-key or --key-file, or set ERST_AUDIT_PRIVATE_KEY_PEM',
    );
    expect(exitCodeFor(missing)).toBe(3);
  });

  it('leaves an error alone when it names an option erst has no flag for, or none', () => {
    const unknown = new ErstError('ERR_OPTIONS_INVALID', '`poolSize` must be positive', {
      details: { options: ['poolSize'] },
    });
    expect(formatError(unknown)).toBe('erst: error ERR_OPTIONS_INVALID: `poolSize` must be positive');
    const plain = new ErstError('ERR_OPTIONS_INVALID', 'attestationRoots[0] holds no PEM certificate');
    expect(forCommandLine(plain)).toBe(plain);
    expect(inFlagTerms('name one with `tokenLabel` or `slot`; `nothing` here')).toBe(
      'name one with --token-label or --slot; `nothing` here',
    );
  });
});

describe('through the built binary', () => {
  it('an --attestation-root that holds no certificate is ERR_USAGE naming the flag and the file (exit 2)', async () => {
    const bad = join(tempDir('erst-flags-'), 'bad.pem');
    writeFileSync(bad, 'hello');
    const r = await runCli(['audit', 'verify', bad, '--attestation-root', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`erst: error ERR_USAGE: --attestation-root ${bad} holds no PEM certificate\n`);
  });

  it('a bad --slot is ERR_USAGE naming the flag; a missing module names --pkcs11-module (signer error, exit 3)', async () => {
    const slot = await runCli(['hsm', 'info', '--slot', 'one']);
    expect(slot.code).toBe(2);
    expect(slot.stderr).toBe('erst: error ERR_USAGE: --slot must be a slot index (0, 1, ...) or slot ID, not "one"\n');
    const module = await runCli(['hsm', 'info'], { env: { ERST_PKCS11_MODULE: undefined } });
    expect(module.code).toBe(3);
    expect(module.stderr).toMatch(
      /^erst: error ERR_PKCS11_MODULE: no PKCS#11 module given: set ERST_PKCS11_MODULE or give --pkcs11-module \(SoftHSM/,
    );
  });
});

describe('the error discipline holds in every source file', () => {
  const files = sources();

  it('checks ErstErrors with isErstError, never instanceof (two installed copies must agree)', () => {
    expect(files.length).toBeGreaterThan(50);
    expect(files.filter((f) => /instanceof ErstError\b/.test(f.text)).map((f) => f.file)).toEqual([]);
  });

  it('libraries never name an erst flag in code (only comments), except the CLI harness, which translates flags', () => {
    const flags =
      /--(software-private-key|key-file|pkcs11-module|pin-file|token-label|slot|key-label|key-id|piv-slot|attestation-chain|no-attestation|require-attestation|schema|label|id|state-key|public-key|attestation-root)\b/;
    const offending: string[] = [];
    for (const f of files) {
      if (!f.file.startsWith('packages/') || f.file.startsWith('packages/cli-harness/')) continue;
      f.text.split('\n').forEach((line, i) => {
        const code = line.trim();
        if (code.startsWith('*') || code.startsWith('//') || code.startsWith('/*')) return;
        if (flags.test(code.replace(/\/\/.*$/, ''))) offending.push(`${f.file}:${i + 1}: ${code}`);
      });
    }
    expect(offending).toEqual([]);
  });
});
