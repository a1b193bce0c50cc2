import { spawnSync } from 'node:child_process';
import { cpSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ErstError } from '@erst/core';
import { readVectorLines, runCli, tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { EXIT, exitCodeFor, formatError } from '../exit.js';

/**
 * Preloaded into the binary with NODE_OPTIONS=--import: WebCrypto's key import
 * fails with a TypeError, as a bug or a broken runtime would make it fail.
 */
const INJECT = `const subtle = globalThis.crypto.subtle;
subtle.importKey = () => Promise.reject(new TypeError('injected importKey failure'));
`;

describe('an unexpected exception is a bug: ERR_INTERNAL, exit 70', () => {
  it('maps anything that is not an ErstError, and ERR_INTERNAL, to 70 with one coded line', () => {
    const bug = new TypeError("Cannot read properties of undefined (reading 'raw')");
    expect(exitCodeFor(bug)).toBe(EXIT.INTERNAL);
    expect(EXIT.INTERNAL).toBe(70);
    expect(exitCodeFor(new ErstError('ERR_INTERNAL', 'x'))).toBe(70);
    expect(formatError(bug)).toBe(
      "erst: error ERR_INTERNAL: TypeError: Cannot read properties of undefined (reading 'raw') (this is a bug; please report it)",
    );
    // Bad input keeps its own code and exit status.
    expect(exitCodeFor(new ErstError('ERR_JSON_SYNTAX', 'x'))).toBe(EXIT.USAGE_OR_INPUT);
    expect(formatError(new ErstError('ERR_JSON_SYNTAX', 'bad'))).toBe('erst: error ERR_JSON_SYNTAX: bad');
  });

  it('erst audit verify reports a crashed verification as ERR_INTERNAL and exits 70 (built binary)', async () => {
    const dir = tempDir('erst-internal-');
    const inject = join(dir, 'inject.mjs');
    writeFileSync(inject, INJECT);
    const good = join(dir, 'good.json');
    const bad = join(dir, 'bad.json');
    writeFileSync(good, readVectorLines('erst-go-1.1.0.jsonl')[0]!);
    writeFileSync(bad, '{');
    const env = { NODE_OPTIONS: `--import ${inject}` };
    const json = await runCli(['audit', 'verify', good, bad, '--backend', 'webcrypto', '--json'], { env });
    expect(json.code, json.stderr).toBe(70);
    const results = (JSON.parse(json.stdout) as { results: { errors: { code: string; message: string }[] }[] }).results;
    // Before: a crash read as a bad signature or a malformed record (exit 1 or 2).
    expect(results.map((r) => r.errors.map((e) => e.code))).toEqual([['ERR_INTERNAL'], ['ERR_JSON_SYNTAX']]);
    expect(results[0]!.errors[0]!.message).toBe('TypeError: injected importKey failure');
    const human = await runCli(['audit', 'verify', good, '--backend', 'webcrypto'], { env });
    expect(human.code).toBe(70);
    expect(human.stdout).toContain('ERR_INTERNAL: TypeError: injected importKey failure');
    expect(human.stdout + human.stderr).not.toMatch(/\n\s+at .+:\d+:\d+/);
    // Without the injected failure the same record verifies.
    expect((await runCli(['audit', 'verify', good, '--backend', 'webcrypto'])).code).toBe(0);
  });

  it('a broken install (main.js, or the package.json it reads, missing) is one coded line and exit 70, no stack trace', () => {
    const dir = tempDir('erst-broken-');
    const dist = join(dir, 'dist');
    cpSync(join(dirname(fileURLToPath(import.meta.url)), '..', '..', 'dist'), dist, { recursive: true });
    const run = () =>
      spawnSync(process.execPath, [join(dist, 'bin.js'), 'audit', 'verify', 'x.json'], {
        encoding: 'utf8',
        timeout: 20_000,
        killSignal: 'SIGKILL',
      });
    // Without the package.json beside dist (main.js reads its version there).
    let r = run();
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/^erst: error ERR_INTERNAL: ENOENT: .*package\.json.*\n$/);
    // Without main.js itself.
    for (const f of readdirSync(dist)) if (/^main-.*\.js$/.test(f)) rmSync(join(dist, f));
    r = run();
    expect(r.status).toBe(70);
    expect(r.stderr).toMatch(/^erst: error ERR_INTERNAL: .*Cannot find module .*main-.*\n$/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('help lists exit status 70', async () => {
    for (const args of [['--help'], ['audit', 'verify', '--help']]) {
      const r = await runCli(args);
      expect(r.code).toBe(0);
      expect(r.stdout).toMatch(/^ {2}70 {2}internal error \(ERR_INTERNAL\)/m);
    }
  });
});
