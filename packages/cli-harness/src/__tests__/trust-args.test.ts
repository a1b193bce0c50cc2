import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ErstError } from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX, tempDir, vectorPath } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import yargs from 'yargs';
import { TRUST_FLAGS, type TrustArgs, errorReporting, trustOptions, withTrustOptions } from '../index.js';

const ROOT = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');

function parse(args: string[]): TrustArgs {
  return withTrustOptions(yargs(args)).parseSync() as TrustArgs;
}

describe('trust flags', () => {
  it('are read into VerifyOptions: one value per repeated flag, so record files after a flag stay files', () => {
    const dir = tempDir('erst-harness-');
    writeFileSync(join(dir, 'root.pem'), ROOT);
    const argv = parse([
      '--public-key',
      SIGNING_PUBLIC_KEY_HEX,
      'log.json',
      '--attestation-root',
      join(dir, 'root.pem'),
      '--require-attestation',
    ]);
    expect((argv as unknown as { _: string[] })._).toEqual(['log.json']);
    expect(trustOptions(argv)).toEqual({
      publicKeys: [SIGNING_PUBLIC_KEY_HEX],
      trust: [],
      attestationRoots: [ROOT],
      requireAttestation: true,
    });
  });

  it('a root that holds no certificate is an option error that a program maps back to --attestation-root', () => {
    const dir = tempDir('erst-harness-');
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'hello');
    let thrown: unknown;
    try {
      trustOptions(parse(['--attestation-root', bad]));
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['attestationRoots'] } });
    const cli = errorReporting({
      name: 'tool',
      exitCodes: { verification: 1, input: 2, usage: 2, signer: 3, internal: 70 },
      flags: TRUST_FLAGS,
    });
    expect(cli.formatError(thrown)).toBe(`tool: error ERR_USAGE: --attestation-root ${bad} holds no PEM certificate`);
    expect((cli.forCommandLine(thrown) as ErstError).code).toBe('ERR_USAGE');
  });
});
