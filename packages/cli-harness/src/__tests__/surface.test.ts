import { describe, expect, it } from 'vitest';
import * as api from '../index.js';

describe('@erst/cli-harness', () => {
  it('exports exactly its public surface', () => {
    expect(Object.keys(api).sort()).toEqual([
      'TRUST_FLAGS',
      'errorReporting',
      'handle',
      'helpExample',
      'helpWidth',
      'joinPemValues',
      'packageVersion',
      'redactUsageMessage',
      'run',
      'trustOptions',
      'withTrustOptions',
    ]);
  });
});
