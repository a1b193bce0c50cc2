import { realpathSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { importGraph, usesNodeGlobals } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import * as reporting from '../reporting.js';

const DIST = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist');

describe('@erst/batch-verify/report is browser-safe', () => {
  it('nothing reachable from dist/reporting.js (dependencies included) imports a node: module or a Node builtin', () => {
    const { files, nodeImports } = importGraph(join(DIST, 'reporting.js'));
    expect(nodeImports).toEqual([]);
    // The walk really went somewhere: the report model, its counting, and @erst/core with its hashing.
    expect(files.some((f) => f.endsWith('/batch-verify/dist/report.js'))).toBe(true);
    expect(files.some((f) => f.endsWith('/batch-verify/dist/outcome.js'))).toBe(true);
    expect(files.some((f) => f.includes('/core/dist/'))).toBe(true);
    expect(files.some((f) => f.includes('@noble'))).toBe(true);
  });

  it('no module of the entry uses Node globals (Buffer, process)', () => {
    const own = importGraph(join(DIST, 'reporting.js')).files.filter((f) => f.startsWith(realpathSync(DIST)));
    expect(own.length).toBeGreaterThan(2);
    expect(own.filter(usesNodeGlobals)).toEqual([]);
  });

  it('the checks do find Node: the root entry starts worker threads', () => {
    expect(importGraph(join(DIST, 'index.js')).nodeImports.some((i) => i.endsWith('-> node:worker_threads'))).toBe(
      true,
    );
  });

  it('exports exactly the report model', () => {
    expect(Object.keys(reporting).sort()).toEqual([
      'REPORT_VERSION',
      'ReportBuilder',
      'dayChart',
      'esc',
      'exitCodeOf',
      'keyChart',
      'recordViews',
      'shortKey',
      'summarize',
      'terminalSafe',
      'textSummary',
      'timestampTable',
      'toOutcome',
      'trustSummary',
      'utcDay',
    ]);
  });
});
