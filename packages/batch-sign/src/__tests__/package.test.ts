import { packPackage, runReadmeExample, tarballProblems, undocumentedExports } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as surface from '../index.js';

/** What npm users get: the tarball `pnpm publish` uploads, and the README's example run as they would run it. */
describe('@erst/batch-sign as published', () => {
  it('ships README, LICENSE, dist and src without tests; every source map source is in the tarball', {
    timeout: 60_000,
  }, async () => {
    const packed = await packPackage('batch-sign');
    expect(tarballProblems(packed)).toEqual([]);
  });

  it('the README names every export', () => {
    expect(undocumentedExports('batch-sign', Object.keys(surface))).toEqual([]);
  });

  it('exports exactly its public surface', () => {
    expect(Object.keys(surface).sort()).toEqual([
      'DEFAULT_CONCURRENCY',
      'DEFAULT_TSA_CONCURRENCY',
      'MAX_CONCURRENCY',
      'MAX_TSA_CONCURRENCY',
      'batchSummary',
      'directorySink',
      'initSignerLog',
      'isTimestampFailure',
      'journalPath',
      'jsonlSink',
      'killHookFromEnv',
      'logStage',
      'logSummary',
      'openBatchInput',
      'openSignerLog',
      'runSignBatch',
      'signBatch',
      'signOne',
      'signRecordToLog',
      'streamBatchInput',
      'tsaTimestamper',
    ]);
  });

  it("the README's example type-checks and runs: signs, stops, resumes over a torn line", {
    timeout: 60_000,
  }, async () => {
    const r = await runReadmeExample('batch-sign');
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('3 true\n2 3 0\n5 true\n');
  });
});
