import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { runBatch, tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';

describe('erst-batch on the CLI harness', () => {
  it('an --attestation-root that holds no certificate is ERR_USAGE naming the flag and the file (exit 2)', async () => {
    const dir = tempDir('erst-batch-flags-');
    const bad = join(dir, 'bad.pem');
    writeFileSync(bad, 'hello');
    const r = await runBatch(['verify', dir, '--attestation-root', bad]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`erst-batch: error ERR_USAGE: --attestation-root ${bad} holds no PEM certificate\n`);
  });

  it('--version prints its own version, whatever the working directory', async () => {
    const own = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };
    const r = await runBatch(['--version'], { cwd: tempDir('erst-batch-cwd-') });
    expect(r).toEqual({ code: 0, stdout: `${own.version}\n`, stderr: '' });
  });
});
