import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as root from '../index.js';
import * as node from '../node.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/archive as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('archive');
    expect(tarballProblems(packed)).toEqual([]);
    expect(packed.files).toContain('dist/node.js');
  });

  it('the README names every export of both entry points', () => {
    expect(undocumentedExports('archive', [...Object.keys(root), ...Object.keys(node)])).toEqual([]);
  });

  it('the Node entry keeps the reader API erst-batch uses, and adds only that to the neutral one', () => {
    expect(Object.keys(node).sort()).toEqual(
      [
        ...Object.keys(root),
        'DIGEST_BLOCK',
        'checkInputs',
        'directoryFiles',
        'hashFiles',
        'inputDigest',
        'readInputs',
        'startInputDigests',
      ].sort(),
    );
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('archive');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        'logs.tar.gz 5',
        'logs 2',
        'logs.tar.gz:logs/bundle.jsonl:1 logs.tar.gz:logs/bundle.jsonl:2 logs.tar.gz:logs/bundle.jsonl:3 logs.tar.gz:logs/day-1/a.json logs.tar.gz:logs/day-1/b.json',
        '',
      ].join('\n'),
    );
  });
});
