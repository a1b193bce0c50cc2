import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErstError } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor, formatError } from '../main.js';
import { type Report, exitCodeOf } from '@erst/batch-verify';
import { record2, runBatch } from './helpers.js';

/**
 * Preloaded with NODE_OPTIONS=--import (into the verifier threads too): the
 * node:crypto key import the workers use fails with a TypeError, as a bug
 * would make it fail.
 */
const INJECT = `import crypto from 'node:crypto';
crypto.createPublicKey = () => { throw new TypeError('injected createPublicKey failure'); };
`;

describe('an unexpected exception is a bug: ERR_INTERNAL, exit 70', () => {
  it('maps anything that is not an ErstError to 70 with one coded line', () => {
    expect(EXIT.INTERNAL).toBe(70);
    expect(exitCodeFor(new TypeError('boom'))).toBe(70);
    expect(exitCodeFor(new ErstError('ERR_INTERNAL', 'boom'))).toBe(70);
    expect(exitCodeFor(new ErstError('ERR_ARCHIVE_EMPTY', 'x'))).toBe(EXIT.USAGE_OR_INPUT);
    expect(exitCodeFor(new ErstError('ERR_STATE_TAMPERED', 'x'))).toBe(EXIT.FAILED);
    expect(formatError(new TypeError('boom'))).toBe(
      'erst-batch: error ERR_INTERNAL: TypeError: boom (this is a bug; please report it)',
    );
  });

  it('a record that hit a bug makes the run exit 70, over unreadable input and failures', () => {
    const totals = { records: 2, valid: 0, invalid: 2, unreadable: 1 };
    expect(exitCodeOf({ totals, by_code: { ERR_INTERNAL: 1, ERR_HASH_MISMATCH: 1 } })).toBe(70);
    expect(exitCodeOf({ totals, by_code: { ERR_HASH_MISMATCH: 1 } })).toBe(2);
  });

  it('erst-batch verify reports the record as ERR_INTERNAL and exits 70 (built binary)', async () => {
    const dir = tempDir('erst-batch-internal-');
    const inject = join(dir, 'inject.mjs');
    writeFileSync(inject, INJECT);
    const archive = join(dir, 'archive');
    mkdirSync(archive);
    writeFileSync(join(archive, 'a.json'), JSON.stringify(await record2('2026-11-20')));
    const reportFile = join(dir, 'report.json');
    const r = await runBatch(['verify', archive, '--workers', '1', '--json', reportFile, '--quiet'], {
      env: { NODE_OPTIONS: `--import ${inject}` },
    });
    expect(r.code, r.stderr).toBe(70);
    // --quiet still names the record on stderr: one coded line, no stack.
    expect(r.stderr).toContain('erst-batch: error ERR_INTERNAL: ');
    expect(r.stderr).toContain('TypeError: injected createPublicKey failure (this is a bug; please report it)');
    expect(r.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    const report = JSON.parse(readFileSync(reportFile, 'utf8')) as Report;
    expect(report.exit_code).toBe(70);
    expect(report.by_code).toEqual({ ERR_INTERNAL: 1 });
    expect(report.failures.map((f) => [f.code, f.kind])).toEqual([['ERR_INTERNAL', 'record']]);
    // Without the injected failure the same archive verifies.
    expect((await runBatch(['verify', archive, '--workers', '1', '--quiet'])).code).toBe(0);
  });

  it('a broken install (main.js fails to load) is one line and exit 70, never a process spinning for ever', async () => {
    // The built binary without the package.json beside it, which main.js reads its version from.
    const dir = tempDir('erst-batch-broken-');
    const dist = join(dir, 'dist');
    cpSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist'), dist, { recursive: true });
    const archive = join(dir, 'archive');
    mkdirSync(archive);
    writeFileSync(join(archive, 'a.json'), JSON.stringify(await record2('2026-11-20')));
    // A directory runs on the coordinator thread, a small file on the main thread: both load main.js.
    for (const input of [archive, join(archive, 'a.json')]) {
      const r = spawnSync(process.execPath, [join(dist, 'bin.js'), 'verify', input, '--quiet'], {
        encoding: 'utf8',
        timeout: 20_000,
        killSignal: 'SIGKILL',
      });
      expect(r.signal, 'killed: it hung').toBeNull();
      expect(r.status).toBe(70);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toMatch(/^erst-batch: error ERR_INTERNAL: .*package\.json.*broken install/);
    }
  });

  it('help lists exit status 70', async () => {
    const r = await runBatch(['verify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^ {2}70 internal error \(ERR_INTERNAL\)/m);
  });
});
