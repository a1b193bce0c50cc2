import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_PUBLIC_KEY_HEX, tempDir, vectorPath } from '@erst/fixtures';
import type { TrustPolicy } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import * as api from '../index.js';
import {
  atomicTempPath,
  isAtomicTempName,
  loadTrustOptions,
  readInputFile,
  writeFileAtomic,
  writeFileAtomicAsync,
} from '../index.js';

describe('@erst/node-io', () => {
  it('exports exactly its public surface', () => {
    expect(Object.keys(api).sort()).toEqual([
      'INPUT_OPEN_FLAGS',
      'atomicTempPath',
      'createAtomicTemp',
      'fileError',
      'fsyncDirectory',
      'isAtomicTempName',
      'loadTrustOptions',
      'notRegularFile',
      'openInputFile',
      'readInputFile',
      'readSecret',
      'readTextFile',
      'writeFileAtomic',
      'writeFileAtomicAsync',
      'writeOutput',
    ]);
  });

  describe('atomic writes', () => {
    it('replace a file whole and leave no temporary file', async () => {
      const d = tempDir('erst-node-io-');
      const p = join(d, 'out.json');
      writeFileAtomic(p, 'one');
      await writeFileAtomicAsync(p, Buffer.from('two'));
      expect(readFileSync(p, 'utf8')).toBe('two');
      expect(readdirSync(d)).toEqual(['out.json']);
    });

    it('fail with ERR_OUTPUT_WRITE and clean up', async () => {
      const d = tempDir('erst-node-io-');
      expect(() => writeFileAtomic(join(d, 'no', 'such', 'dir.json'), 'x')).toThrow(
        expect.objectContaining({ code: 'ERR_OUTPUT_WRITE' }),
      );
      await expect(writeFileAtomicAsync(join(d, 'no', 'x.json'), 'x')).rejects.toMatchObject({
        code: 'ERR_OUTPUT_WRITE',
      });
      expect(readdirSync(d)).toEqual([]);
    });

    it('temporary names are recognisable, so a killed run can clean up after itself', () => {
      const t = atomicTempPath('/x/y/log.json');
      expect(t.startsWith('/x/y/.log.json.')).toBe(true);
      expect(isAtomicTempName(t.slice('/x/y/'.length))).toBe(true);
      expect(isAtomicTempName('log.json')).toBe(false);
    });
  });

  it('readInputFile refuses directories, missing files and oversized files with their own codes', () => {
    const d = tempDir('erst-node-io-');
    writeFileSync(join(d, 'big'), 'x'.repeat(100));
    expect(() => readInputFile(d)).toThrow(expect.objectContaining({ code: 'ERR_FILE_IS_DIRECTORY' }));
    expect(() => readInputFile(join(d, 'nope'))).toThrow(expect.objectContaining({ code: 'ERR_FILE_NOT_FOUND' }));
    expect(() => readInputFile(join(d, 'big'), 10)).toThrow(expect.objectContaining({ code: 'ERR_INPUT_TOO_LARGE' }));
  });

  it('loadTrustOptions reads keys (@file), trust files with roots relative to them, and attestation roots', () => {
    const d = tempDir('erst-node-io-');
    mkdirSync(join(d, 'trust', 'roots'), { recursive: true });
    const root = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');
    writeFileSync(join(d, 'trust', 'roots', 'root.pem'), root);
    writeFileSync(
      join(d, 'trust', 'trust.json'),
      JSON.stringify({
        keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX, label: 'prod' }],
        attestation_roots: ['roots/root.pem'],
        require_attestation: true,
      }),
    );
    writeFileSync(join(d, 'pub.hex'), SIGNING_PUBLIC_KEY_HEX);
    const o = loadTrustOptions({
      publicKeys: [`@${join(d, 'pub.hex')}`],
      trustFile: join(d, 'trust', 'trust.json'),
      attestationRoots: [join(d, 'trust', 'roots', 'root.pem')],
    });
    expect(o.publicKeys).toEqual([SIGNING_PUBLIC_KEY_HEX]);
    expect(o.attestationRoots).toEqual([root]);
    const policy = (o.trust as readonly TrustPolicy[])[0]!;
    expect(policy.attestationRoots).toEqual([root]);
    expect(policy.requireAttestation).toBe(true);
    expect(policy.keys[0]!.label).toBe('prod');
    // The options are plain data: they survive structured cloning into worker threads.
    expect(structuredClone(o)).toEqual(o);
    writeFileSync(join(d, 'not-a-cert.pem'), 'hello');
    expect(() => loadTrustOptions({ attestationRoots: [join(d, 'not-a-cert.pem')] })).toThrow(
      expect.objectContaining({ code: 'ERR_OPTIONS_INVALID', details: { options: ['attestationRoots'] } }),
    );
    expect(existsSync(d)).toBe(true);
  });
});
