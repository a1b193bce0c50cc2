import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

const SRC = fileURLToPath(new URL('..', import.meta.url));

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/tlog as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('tlog');
    expect(tarballProblems(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('tlog', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('tlog');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('audit.example.com/log 1 3\nERR_TLOG_PROOF_INDEX_MISMATCH\n');
  });

  it('is pure: no source file imports a node: module or anything but @erst/core and @noble', () => {
    const imports = readdirSync(SRC)
      .filter((f) => f.endsWith('.ts'))
      .flatMap((f) => [...readFileSync(join(SRC, f), 'utf8').matchAll(/from '([^']+)'/g)].map((m) => `${f}: ${m[1]}`));
    expect(imports.length).toBeGreaterThan(10);
    expect(imports.filter((i) => !/: (\.\/|@erst\/core$|@noble\/curves\/)/.test(i))).toEqual([]);
  });
});
