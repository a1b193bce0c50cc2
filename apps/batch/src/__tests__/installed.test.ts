import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Report } from '@erst/batch-verify';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { record2, runBatch, scratchDir } from './helpers.js';

describe('erst-batch run from outside the repository', () => {
  // The verifier threads start from @erst/batch-verify's dist/worker.js, found
  // relative to the package, not to the working directory.
  it('verifies on worker threads whatever the working directory', async () => {
    const d = scratchDir('erst-batch-elsewhere-');
    const logs = join(d, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.json'), JSON.stringify(await record2('2026-11-20')));
    const r = await runBatch(
      ['verify', 'logs', '--public-key', SIGNING_PUBLIC_KEY_HEX, '--workers', '2', '--json', '-', '-q'],
      { cwd: d },
    );
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Report).totals).toEqual({ records: 1, valid: 1, invalid: 0, unreadable: 0 });
  });
});
