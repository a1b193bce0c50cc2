import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/batch-verify as published', () => {
  it('exports exactly its public surface', () => {
    expect(Object.keys(surface).sort()).toEqual([
      'MAX_WORKERS',
      'REPORT_VERSION',
      'STATE_VERSION',
      'checkReport',
      'exitCodeOf',
      'formatShard',
      'htmlReport',
      'isStateDigest',
      'junitXml',
      'mergeReports',
      'parseShard',
      'readReport',
      'runVerify',
      'shardOf',
      'shortKey',
      'stderrLines',
      'terminalSafe',
      'textSummary',
      'trustSummary',
      'writeReports',
    ]);
  });

  it('ships README, LICENSE, dist (with the worker script) and src without tests; every map source is shipped', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('batch-verify');
    expect(tarballProblems(packed)).toEqual([]);
    // The pool starts its threads from the worker script next to it in dist.
    expect(packed.files).toContain('dist/worker.js');
  });

  it('the README names every export', () => {
    expect(undocumentedExports('batch-verify', Object.keys(surface))).toEqual([]);
  });

  it("the README's example type-checks and runs, printing what its comments say", { timeout: 60_000 }, async () => {
    const r = await runReadmeExample('batch-verify');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(
      [
        '3 records, 3 valid, 0 invalid; state: baseline',
        'missing [] changed []',
        'exit code 0',
        '2 records, 2 valid, 0 invalid; state: compared',
        "missing [ 'c.json' ] changed [ 'b.json' ]",
        'exit code 1',
        '',
      ].join('\n'),
    );
  });
});
