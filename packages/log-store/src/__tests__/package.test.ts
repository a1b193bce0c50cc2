import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/log-store as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('log-store');
    expect(tarballProblems(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('log-store', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('log-store');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('2 1\nERR_LOG_LOCKED\n2\n');
  });
});
