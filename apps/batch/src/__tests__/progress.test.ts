import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_PUBLIC_KEY_HEX, run } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { beforeAll, describe, expect, it } from 'vitest';
import { BATCH_BIN, record2, runBatch, scratchDir, writeKey } from './helpers.js';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
/** Enough records for a run on one worker to outlast the bar's first redraw (200 ms) several times. */
const RECORDS = 6000;

let d: string;
let archive: string;

beforeAll(async () => {
  d = scratchDir('erst-batch-progress-');
  // A directory of record files. The record count (and with it the bar and its ETA) is known once reading has
  // finished; reading waits for the workers, so until then the line shows the count and the rate.
  archive = join(d, 'archive');
  mkdirSync(archive);
  const records = await Promise.all(Array.from({ length: RECORDS }, () => record2('2026-11-20')));
  for (const [i, r] of records.entries()) writeFileSync(join(archive, `r${i}.json`), JSON.stringify(r));
}, 120_000);

/** erst-batch on a pseudo-terminal (script(1)), stdout discarded: what it draws on the terminal through stderr. */
function onTerminal(args: string[]): Promise<{ code: number | null; terminal: string }> {
  const quoted = [BATCH_BIN, ...args].map((a) => `'${a}'`).join(' ');
  return run('script', ['-qec', `${quoted} > /dev/null`, '/dev/null']).then((r) => ({
    code: r.code,
    terminal: r.stdout,
  }));
}

describe('erst-batch verify: progress', () => {
  it('on a terminal: a line redrawn in place with count and rate (a bar and ETA once the total is known), cleared', {
    timeout: 120_000,
  }, async () => {
    const r = await onTerminal(['verify', archive, ...PIN, '--workers', '1']);
    expect(r.code, r.terminal).toBe(0);
    const drawn = r.terminal.split('\r\x1b[2K').filter((l) => l !== '');
    expect(drawn.length, r.terminal).toBeGreaterThan(1);
    for (const line of drawn) {
      expect(line).toMatch(
        /^(erst-batch: verify: [\d,]+ records, [\d,]+\/s|\[[#.]{30}\] +\d+% [\d,]+\/6,000 [\d,]+\/s ETA \d+:\d\d)$/,
      );
    }
    // The last thing drawn clears the bar: no half-drawn line is left above the prompt.
    expect(r.terminal.endsWith('\r\x1b[2K')).toBe(true);
  });

  it('nothing of it with --quiet on a terminal, nor off a terminal', { timeout: 120_000 }, async () => {
    const quiet = await onTerminal(['verify', archive, ...PIN, '--workers', '1', '--quiet']);
    expect(quiet.code, quiet.terminal).toBe(0);
    expect(quiet.terminal).toBe('');
    const piped = await runBatch(['verify', archive, ...PIN, '--workers', '1']);
    expect(piped.code).toBe(0);
    expect(piped.stderr).toBe('');
    expect(piped.stdout).not.toMatch(/\r|ETA/);
  });
});

describe('erst-batch verify: stopped by a signal', () => {
  for (const [signal, code] of [
    ['SIGINT', 130],
    ['SIGTERM', 143],
  ] as const) {
    it(`${signal}: one line saying what was left undone, exit ${code}, state file and reports untouched`, {
      timeout: 120_000,
    }, async () => {
      const dir = scratchDir('erst-batch-signal-');
      const key = writeKey(dir, generateKeyPair().pkcs8Pem);
      const state = join(dir, 'state.json');
      const first = await runBatch(['verify', archive, ...PIN, '--state', state, '--state-key', key, '--init-state']);
      expect(first.code, first.stderr).toBe(0);
      const before = readFileSync(state);
      const report = join(dir, 'report.json');
      const args = [
        'verify',
        archive,
        ...PIN,
        '--state',
        state,
        '--state-key',
        key,
        '--json',
        report,
        '--workers',
        '1',
      ];
      const child = spawn(BATCH_BIN, args, { stdio: ['ignore', 'ignore', 'pipe'] });
      let stderr = '';
      child.stderr.on('data', (b: Buffer) => {
        stderr += b.toString('utf8');
      });
      const exited = new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
      // The new state is being written: the run is under way.
      while (!readdirSync(dir).some((n) => n.endsWith('.tmp'))) {
        if (child.exitCode !== null) throw new Error('the run ended before it could be stopped');
        await new Promise((r) => setTimeout(r, 2));
      }
      child.kill(signal);
      expect(await exited).toBe(code);
      expect(stderr).toBe(`erst-batch: interrupted by ${signal}: no report written, state file unchanged\n`);
      expect(readFileSync(state).equals(before)).toBe(true);
      expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
      expect(existsSync(report)).toBe(false);
    });
  }
});
