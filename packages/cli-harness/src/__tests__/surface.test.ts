import { describe, expect, it } from 'vitest';
import * as api from '../index.js';

describe('@erst/cli-harness', () => {
  it('exports exactly its public surface', () => {
    expect(Object.keys(api).sort()).toEqual([
      'Progress',
      'TRUST_FLAGS',
      'abortOnSignals',
      'closeOnSignals',
      'command',
      'errorReporting',
      'filesWithin',
      'handle',
      'helpExample',
      'helpWidth',
      'joinPemValues',
      'lastResort',
      'packageVersion',
      'progressLine',
      'redactUsageMessage',
      'run',
      'trustOptions',
      'withTrustOptions',
    ]);
  });
});
