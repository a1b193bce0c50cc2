import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { tempDir } from '@erst/fixtures';
import { afterAll, describe, expect, it } from 'vitest';
import { filesWithin } from '../index.js';

const dir = tempDir('erst-launch-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('filesWithin', () => {
  const small = join(dir, 'small.json');
  const big = join(dir, 'big.jsonl');
  writeFileSync(small, 'x'.repeat(100));
  writeFileSync(big, 'x'.repeat(2000));
  mkdirSync(join(dir, 'sub'));

  it('counts the bytes of the named regular files; flags and words naming nothing count for nothing', () => {
    expect(filesWithin(['verify', small, '--public-key', 'ab'.repeat(32), '-q'], 100)).toBe(true);
    expect(filesWithin(['verify', small, small], 199)).toBe(false);
    expect(filesWithin(['verify', big], 1999)).toBe(false);
    expect(filesWithin(['verify', big], 2000)).toBe(true);
    expect(filesWithin(['--help'], 0)).toBe(true);
  });

  it('a directory or anything but a regular file makes it false (never opened: a FIFO would block)', () => {
    expect(filesWithin(['verify', join(dir, 'sub')], 1 << 20)).toBe(false);
    const fifo = join(dir, 'fifo');
    execFileSync('mkfifo', [fifo]);
    expect(filesWithin(['verify', fifo], 1 << 20)).toBe(false);
    // A link is judged by what it points to: to a FIFO it is no small run; to a small file it is one.
    symlinkSync(fifo, join(dir, 'to-fifo'));
    symlinkSync(small, join(dir, 'to-small'));
    expect(filesWithin(['verify', join(dir, 'to-fifo')], 1 << 20)).toBe(false);
    expect(filesWithin(['verify', join(dir, 'to-small')], 100)).toBe(true);
  });
});

describe('lastResort', () => {
  // It ends the process: run in a child, against the built module.
  const launch = pathToFileURL(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist', 'launch.js')).href;
  function run(format: string, failure: string) {
    const script = `import { lastResort } from '${launch}';
const fatal = lastResort('prog', ${format});
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
${failure}`;
    return spawnSync(process.execPath, ['--input-type=module', '-e', script], {
      encoding: 'utf8',
      timeout: 20_000,
      killSignal: 'SIGKILL',
    });
  }

  it("reports what escapes with the program's own line, once, and exits 70", () => {
    const r = run(
      "async () => (e) => 'prog: error ERR_INTERNAL: ' + e.message",
      "setTimeout(() => { throw new TypeError('boom'); });",
    );
    expect(r.status).toBe(70);
    expect(r.stderr).toBe('prog: error ERR_INTERNAL: boom\n');
  });

  it('when the program cannot load its reporting, one plain line and exit 70, never a loop', () => {
    // Loading the formatter fails as a broken install does: each failure used to report the next, for ever.
    const r = run(
      "() => import('./missing-main.js').then((m) => m.formatError)",
      "Promise.reject(new Error('first'));",
    );
    expect(r.signal, 'killed: it spun').toBeNull();
    expect(r.status).toBe(70);
    expect(r.stderr).toBe('prog: error ERR_INTERNAL: first (this is a bug, or a broken install; please report it)\n');
  });

  it('that plain line shows terminal controls in the message as escapes, never raw', () => {
    const r = run(
      "() => import('./missing-main.js').then((m) => m.formatError)",
      "Promise.reject(new Error('a\\n\\u001b[2Kb'));",
    );
    expect(r.status).toBe(70);
    expect(r.stderr).toBe(
      'prog: error ERR_INTERNAL: a\\u000a\\u001b[2Kb (this is a bug, or a broken install; please report it)\n',
    );
  });
});
