import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JsonObject, bytesToHex } from '@erst/core';
import { REPO_ROOT, SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, run, runCli, tempDir } from '@erst/fixtures';
import { readLog } from '@erst/log-store';
import { openCheckpoint, parseVerifierKey } from '@erst/tlog';
import { Verifier } from '@erst/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const ERST = join(REPO_ROOT, 'node_modules', '.bin', 'erst');
const ORIGIN = 'audit.example.com/log';
const COUNT = 600;

let dir: string;
let keyFile: string;
let payloads: string;
let txs: string[];
let vkey: string;

const made: string[] = [];
function scratch(): string {
  const d = tempDir('erst-log-cli-');
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

beforeAll(async () => {
  dir = scratch();
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  payloads = join(dir, 'payloads.jsonl');
  const gen = await run(process.execPath, [
    join(REPO_ROOT, 'tooling', 'bench', 'gen-payloads.mjs'),
    String(COUNT),
    'log',
  ]);
  expect(gen.code).toBe(0);
  writeFileSync(payloads, gen.stdout);
  txs = gen.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { transaction_hash: string }).transaction_hash);
  const key = await runCli(['log', 'verifier-key', '--origin', ORIGIN, '--key-file', keyFile]);
  expect([key.code, key.stderr]).toEqual([0, '']);
  vkey = key.stdout.trimEnd();
}, 120_000);

const pinned = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });

function noStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

async function newLog(): Promise<string> {
  const logDir = join(scratch(), 'log');
  const r = await runCli(['log', 'init', logDir, '--origin', ORIGIN, '--key-file', keyFile]);
  expect([r.code, r.stdout], r.stderr).toEqual([0, '']);
  return logDir;
}

/**
 * Every record verifies pinned, through its log proof; the log holds each
 * record's trace_hash exactly once and nothing else.
 */
async function checkLogged(records: JsonObject[], logDir: string): Promise<void> {
  for (const r of records) {
    const v = await pinned.verify(JSON.stringify(r));
    expect(v.valid, JSON.stringify(v.errors)).toBe(true);
    expect([v.trust, v.log?.verified, v.log?.origin]).toEqual(['pinned', true, ORIGIN]);
  }
  const read = await readLog(logDir, { verifiers: parseVerifierKey(vkey) });
  const entries = read.entries.map((e) => bytesToHex(e));
  expect(new Set(entries).size).toBe(entries.length);
  expect(entries.sort()).toEqual(records.map((r) => r.trace_hash as string).sort());
}

const jsonl = (path: string) =>
  readFileSync(path, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonObject);

describe('erst log init / verifier-key (built binary)', () => {
  it('init makes a log whose size-0 checkpoint the printed verifier key verifies; verifier-key prints one line', async () => {
    const logDir = await newLog();
    expect(vkey).toMatch(/^audit\.example\.com\/log\+[0-9a-f]{8}\+[A-Za-z0-9+/]+=*$/);
    const checkpoint = openCheckpoint(readFileSync(join(logDir, 'checkpoint')), parseVerifierKey(vkey));
    expect([checkpoint.origin, checkpoint.size]).toEqual([ORIGIN, 0]);

    // The same log again is left as it is; another origin in the same directory is refused.
    const again = await runCli(['log', 'init', logDir, '--origin', ORIGIN, '--key-file', keyFile]);
    expect(again.code).toBe(0);
    expect(again.stderr).toMatch(/already holds this log/);
    const other = await runCli(['log', 'init', logDir, '--origin', 'other.example/log', '--key-file', keyFile]);
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/^erst: error ERR_LOG_EXISTS: /);
    noStack(other.stderr);
  });

  it('a bad origin is a usage error naming --origin', async () => {
    for (const args of [
      ['log', 'verifier-key', '--origin', 'has space', '--key-file', keyFile],
      ['log', 'init', join(scratch(), 'log'), '--origin', 'a+b', '--key-file', keyFile],
    ]) {
      const r = await runCli(args);
      expect([r.code, r.stdout]).toEqual([2, '']);
      expect(r.stderr).toMatch(/^erst: error ERR_USAGE: --origin /);
    }
    const missing = await runCli(['log', 'verifier-key', '--key-file', keyFile]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/origin/);
  });
});

describe('erst audit sign --log (built binary)', () => {
  const doc = (i: number) => readFileSync(payloads, 'utf8').split('\n')[i]!;

  it('single records: signed or not, each verifies pinned with a proof; the log holds exactly them', async () => {
    const logDir = await newLog();
    const out = scratch();
    const a = await runCli(['audit', 'sign', '--payload', doc(0), '--key-file', keyFile, '--log', logDir]);
    expect(a.code, a.stderr).toBe(0);
    const b = await runCli([
      'audit',
      'sign',
      '--payload',
      doc(1),
      '--key-file',
      keyFile,
      '--log',
      logDir,
      '--no-record-signature',
      '--out',
      join(out, 'b.json'),
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(b.stderr).toMatch(/ as 2\.1\.0 .* logged in .* at index 1 -> /);
    const ra = JSON.parse(a.stdout) as JsonObject;
    const rb = JSON.parse(readFileSync(join(out, 'b.json'), 'utf8')) as JsonObject;
    expect([ra.version, typeof ra.signature, rb.version, 'signature' in rb]).toEqual([
      '2.1.0',
      'string',
      '2.1.0',
      false,
    ]);
    await checkLogged([ra, rb], logDir);
    const verified = await runCli(['audit', 'verify', join(out, 'b.json'), '--public-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(verified.code, verified.stderr).toBe(0);
  });

  it('refuses flags that do not go together, and a log made with another key', async () => {
    for (const [args, message] of [
      [['--no-record-signature'], /--no-record-signature goes with --log/],
      [['--log', 'x', '--schema', '2.0.0'], /--log writes 2\.1\.0 records/],
      [['--log', 'x', '--checkpoint-every', '5'], /--checkpoint-every goes with --batch --log/],
    ] as [string[], RegExp][]) {
      const r = await runCli(['audit', 'sign', '--payload', doc(0), '--key-file', keyFile, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const logDir = await newLog();
    const otherKey = join(scratch(), 'other.pem');
    expect((await runCli(['keys', 'generate', '--out', otherKey])).code).toBe(0);
    const r = await runCli(['audit', 'sign', '--payload', doc(0), '--key-file', otherKey, '--log', logDir]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^erst: error ERR_NOTE_UNVERIFIED: /);
    expect(r.stdout).toBe('');
  });

  it('a second process appending to the same log waits, then fails with ERR_LOG_LOCKED (exit 2); the first finishes', async () => {
    const logDir = await newLog();
    const out = join(scratch(), 'out.jsonl');
    // The batch reads stdin, kept open: it holds the log's lock until stdin ends.
    const args = ['audit', 'sign', '--batch', '-', '--out', out, '--key-file', keyFile, '--log', logDir];
    const batch: ChildProcess = spawn(ERST, args, { cwd: REPO_ROOT, stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    batch.stderr!.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => batch.on('exit', (c) => resolve(c)));
    batch.stdin!.write(`${doc(0)}\n${doc(1)}\n`);
    const lock = join(logDir, '.lock');
    for (let i = 0; !existsSync(lock); i++) {
      if (i > 2000) throw new Error('the batch never took the lock');
      await new Promise((r) => setTimeout(r, 5));
    }
    const started = performance.now();
    const second = await runCli(['audit', 'sign', '--payload', doc(2), '--key-file', keyFile, '--log', logDir]);
    const waited = performance.now() - started;
    expect(second.code).toBe(2);
    expect(second.stderr).toMatch(/^erst: error ERR_LOG_LOCKED: /);
    expect(second.stdout).toBe('');
    expect(waited).toBeGreaterThanOrEqual(1_900);
    batch.stdin!.end(`${doc(3)}\n`);
    expect(await exited, stderr).toBe(0);
    const records = jsonl(out);
    expect(records.map((r) => r.transaction_hash)).toEqual(expect.arrayContaining([txs[0], txs[1], txs[3]]));
    expect(records.length).toBe(3);
    await checkLogged(records, logDir);
  }, 120_000);

  it('--batch --log --no-record-signature --checkpoint-every: the summary counts checkpoints and signatures', async () => {
    const logDir = await newLog();
    const out = join(scratch(), 'records');
    const r = await runCli([
      'audit',
      'sign',
      '--batch',
      payloads,
      '--out-dir',
      out,
      '--key-file',
      keyFile,
      '--log',
      logDir,
      '--no-record-signature',
      '--checkpoint-every',
      '250',
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/600 records, 3 checkpoints, 3 key signatures\n$/);
    const records = readdirSync(out).map((n) => JSON.parse(readFileSync(join(out, n), 'utf8')) as JsonObject);
    expect(records.map((x) => x.transaction_hash).sort()).toEqual([...txs].sort());
    expect(records.some((x) => 'signature' in x)).toBe(false);
    await checkLogged(records, logDir);
    expect(existsSync(`${out}.log-journal`)).toBe(false);
  }, 120_000);

  /** Runs a logged batch that SIGKILLs itself at a step, or is killed once `out` holds `lines` lines. */
  async function killed(args: string[], at: { step: string } | { lines: number; out: string }): Promise<void> {
    if ('step' in at) {
      const r = await runCli(args, { env: { ERST_TEST_KILL_AT: at.step } });
      expect(r.code, r.stderr).toBe(null); // killed by its signal, not exited
      return;
    }
    const child: ChildProcess = spawn(ERST, args, { cwd: REPO_ROOT, stdio: 'ignore' });
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    const lines = () => (existsSync(at.out) ? readFileSync(at.out, 'utf8').split('\n').length - 1 : 0);
    while (lines() < at.lines) {
      if (child.exitCode !== null) throw new Error('the batch finished before it could be killed');
      await new Promise((r) => setTimeout(r, 3));
    }
    child.kill('SIGKILL');
    await exited;
  }

  for (const at of [
    { step: 'journaled:2' },
    { step: 'checkpointed:2' },
    { step: 'released:3' },
    { step: 'closing:1' },
    // Two checkpoints' records, a checkpoint every 10: killed with most of the batch to go. With a checkpoint every
    // 100, the batch on signing threads could finish before the poll saw the lines (at 250, and on a busy machine
    // even at 100), leaving nothing to resume; 60 checkpoints, each with its fsyncs, take far longer than a poll.
    { lines: 20, every: '10' },
  ] as ({ step: string } | { lines: number; every: string })[]) {
    const name = 'step' in at ? `after ${at.step}` : `once ${at.lines} records are written`;
    it(`SIGKILLed ${name}, then rerun: every input in the log exactly once, every proof valid`, async () => {
      const logDir = await newLog();
      const out = join(scratch(), 'out.jsonl');
      const args = ['audit', 'sign', '--batch', payloads, '--out', out, '--key-file', keyFile, '--log', logDir];
      const every = 'every' in at ? at.every : '100';
      const logged = [...args, '--no-record-signature', '--checkpoint-every', every, '--concurrency', '8', '--quiet'];
      await killed(logged, 'step' in at ? at : { lines: at.lines, out });
      expect(existsSync(`${out}.log-journal`)).toBe(true);
      if ('step' in at && at.step === 'journaled:2') {
        // Rerun without the log: refused, since the journaled records would be signed again.
        const without = await runCli([...args.slice(0, -2), '--quiet']);
        expect(without.code).toBe(2);
        expect(without.stderr).toMatch(
          /^erst: error ERR_USAGE: .*\.log-journal holds records of an interrupted --log batch/,
        );
      }

      const again = await runCli([...args, '--no-record-signature', '--checkpoint-every', '100']);
      expect(again.code, again.stderr).toBe(0);
      noStack(again.stderr);
      const records = jsonl(out);
      expect(records.map((x) => x.transaction_hash).sort()).toEqual([...txs].sort());
      await checkLogged(records, logDir);
      expect(existsSync(`${out}.log-journal`)).toBe(false);
    }, 120_000);
  }
});
