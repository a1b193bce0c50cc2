import { packPackage, runReadmeExample, undocumentedExports, unshippedMapSources } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/signer-memory as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('signer-memory');
    expect(packed.files).toEqual(
      expect.arrayContaining([
        'LICENSE',
        'README.md',
        'package.json',
        'dist/index.js',
        'dist/index.d.ts',
        'src/index.ts',
      ]),
    );
    expect(packed.files.filter((f) => f.includes('__tests__'))).toEqual([]);
    expect(packed.files.filter((f) => f.endsWith('.map')).length).toBeGreaterThan(0);
    expect(unshippedMapSources(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('signer-memory', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('signer-memory');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('true\ntrue pinned\n');
  });
});
