import { readFileSync } from 'node:fs';
import { join, posix } from 'node:path';
import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/attestation as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('attestation');
    expect(tarballProblems(packed)).toEqual([]);

    // The declarations a user's compiler reads, from index.d.ts through every
    // relative import, name neither reflect-metadata nor tsyringe: those
    // would add global `Reflect` typings to the user's program.
    const reached = new Set<string>();
    const queue = ['dist/index.d.ts'];
    for (let file = queue.pop(); file; file = queue.pop()) {
      if (reached.has(file)) continue;
      reached.add(file);
      const text = readFileSync(join(packed.root, file), 'utf8');
      expect(text, file).not.toMatch(/reflect-metadata|tsyringe/);
      for (const [, spec] of text.matchAll(/(?:from|import)\s+['"](\.{1,2}\/[^'"]+)['"]/g)) {
        queue.push(posix.normalize(posix.join(posix.dirname(file), spec!.replace(/\.js$/, '.d.ts'))));
      }
    }
    expect(reached).toContain('dist/certs.d.ts');
    expect(reached).not.toContain('dist/x509.d.ts');

    // The one module with a side effect on import is declared as such.
    const manifest = JSON.parse(readFileSync(join(packed.root, 'package.json'), 'utf8'));
    expect(manifest.sideEffects).toEqual(['./dist/x509.js']);
    expect(readFileSync(join(packed.root, 'dist/x509.js'), 'utf8')).toMatch(/import 'reflect-metadata'/);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('attestation', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('attestation');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('true CN=Example Token Key <- CN=Example Root CA\nfalse\n2\n');
  });
});
