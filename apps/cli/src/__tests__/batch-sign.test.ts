import { type ChildProcess, spawn } from 'node:child_process';
import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { jsonlSink, signBatch } from '@erst/batch-sign';
import { REPO_ROOT, SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, run, runCli, tempDir } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { progressLine } from '@erst/cli-harness';
import { exitCodeFor, formatError } from '../exit.js';

const ERST = join(REPO_ROOT, 'node_modules', '.bin', 'erst');
const COUNT = 4000;

let dir: string;
let keyFile: string;
let payloads: string;
let txs: string[];

beforeAll(async () => {
  dir = scratchDir('erst-batch-sign-');
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  payloads = join(dir, 'payloads.jsonl');
  const gen = await run(process.execPath, [
    join(REPO_ROOT, 'tooling', 'bench', 'gen-payloads.mjs'),
    String(COUNT),
    'batch-sign-test',
  ]);
  expect(gen.code).toBe(0);
  writeFileSync(payloads, gen.stdout);
  txs = gen.stdout
    .trim()
    .split('\n')
    .map((l) => (JSON.parse(l) as { transaction_hash: string }).transaction_hash);
  expect(new Set(txs).size).toBe(COUNT);
}, 120_000);

const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });

// Each batch here writes hundreds of megabytes: leave nothing behind.
const made: string[] = [];
function scratchDir(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

function noStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

/** Starts a batch and SIGKILLs it once `progress()` reaches `at`, while it is still running. */
async function killMidway(args: string[], progress: () => number, at: number): Promise<number> {
  const child: ChildProcess = spawn(ERST, args, { cwd: REPO_ROOT, stdio: 'ignore' });
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  let seen = 0;
  for (;;) {
    if (child.exitCode !== null)
      throw new Error(`the batch finished (exit ${child.exitCode}) before it could be killed; raise COUNT`);
    seen = progress();
    if (seen >= at) break;
    await new Promise((r) => setTimeout(r, 3));
  }
  expect(child.kill('SIGKILL')).toBe(true);
  await exited;
  expect(child.signalCode).toBe('SIGKILL');
  return seen;
}

describe('erst audit sign --batch (built binary)', () => {
  it('--out-dir: killed mid-way (SIGKILL), then rerun: every record exactly once, all verifying', async () => {
    const out = join(dir, 'out');
    const args = [
      'audit',
      'sign',
      '--batch',
      payloads,
      '--out-dir',
      out,
      '--key-file',
      keyFile,
      '--quiet',
      '--concurrency',
      '8',
    ];
    const count = () => (existsSync(out) ? readdirSync(out).filter((n) => n.endsWith('.json')).length : 0);
    const atKill = await killMidway(args, count, 300);
    const before = count();
    expect(before).toBeGreaterThanOrEqual(atKill);
    expect(before).toBeLessThan(COUNT);

    const again = await runCli(args.filter((a) => a !== '--quiet'));
    expect(again.code, again.stderr).toBe(0);
    noStack(again.stderr);
    expect(again.stderr).toMatch(
      new RegExp(
        `batch done: ${COUNT.toLocaleString('en-US')} lines: [\\d,]+ signed, ${before.toLocaleString('en-US')} already signed`,
      ),
    );

    const names = readdirSync(out);
    expect(names.filter((n) => !n.endsWith('.json'))).toEqual([]); // no temporary files left behind
    expect(names.sort()).toEqual(txs.map((t) => `${t}.json`).sort());
    for (const name of names) {
      const r = await verifier.verify(readFileSync(join(out, name)));
      expect(r.valid, `${name}: ${JSON.stringify(r.errors)}`).toBe(true);
      expect(`${r.transaction_hash}.json`).toBe(name);
    }

    // A third run has nothing left to do.
    const third = await runCli(args);
    expect(third.code).toBe(0);
    expect(readdirSync(out)).toHaveLength(COUNT);
  }, 180_000);

  it('--out file.jsonl: killed mid-way and cut mid-line, then rerun: every record exactly once, all verifying', async () => {
    const out = join(dir, 'out.jsonl');
    const args = ['audit', 'sign', '--batch', payloads, '--out', out, '--key-file', keyFile, '--quiet'];
    const size = () => (existsSync(out) ? statSync(out).size : 0);
    await killMidway(args, size, 5_000_000);
    const lines = readFileSync(out, 'utf8')
      .split('\n')
      .filter((l) => l.length > 0);
    expect(lines.length).toBeLessThan(COUNT);
    // As if the machine had died in the middle of a write: half a record, no newline.
    appendFileSync(out, lines[0]!.slice(0, 5000));

    const again = await runCli(args);
    expect(again.code, again.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const records = text.trimEnd().split('\n');
    expect(records).toHaveLength(COUNT);
    const seen = new Set<string>();
    for (const line of records) {
      const r = await verifier.verify(line);
      expect(r.valid, JSON.stringify(r.errors)).toBe(true);
      seen.add(r.transaction_hash!);
    }
    expect([...seen].sort()).toEqual([...txs].sort());
  }, 180_000);

  it('SIGTERM stops the batch cleanly (exit 143, complete lines only); a rerun finishes it', async () => {
    const out = join(dir, 'term.jsonl');
    const args = ['audit', 'sign', '--batch', payloads, '--out', out, '--key-file', keyFile];
    const child = spawn(ERST, args, { cwd: REPO_ROOT, stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => {
      stderr += d.toString();
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!(existsSync(out) && statSync(out).size > 2_000_000)) {
      if (child.exitCode !== null) throw new Error('the batch finished before it could be interrupted');
      await new Promise((r) => setTimeout(r, 3));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(stderr).toContain('interrupted by SIGTERM (rerun to resume)');
    expect(readFileSync(out, 'utf8').endsWith('\n')).toBe(true);
    const again = await runCli([...args, '--quiet']);
    expect(again.code).toBe(0);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(COUNT);
  }, 180_000);

  it('a bad line is reported with its line number and code, skipped, and the others are signed (exit 2)', async () => {
    const [a, b, c] = readFileSync(payloads, 'utf8').split('\n') as [string, string, string];
    const docA = JSON.parse(a) as { transaction_hash: string; payload: unknown };
    const docB = JSON.parse(b) as { transaction_hash: string; payload: unknown };
    const input = [
      a,
      '{"transaction_hash": ',
      JSON.stringify(docA.payload),
      JSON.stringify({ transaction_hash: '../../../../tmp/escaped', payload: {} }),
      JSON.stringify({ transaction_hash: docA.transaction_hash, payload: { other: 1 } }),
      '   ',
      b,
      c,
    ].join('\n');
    const d = scratchDir('erst-batch-bad-');
    writeFileSync(join(d, 'in.jsonl'), `${input}\n`);
    const out = join(d, 'out');
    mkdirSync(out);
    // Something already sits where line 8's record would go, and it is not that record.
    const docC = JSON.parse(c) as { transaction_hash: string };
    writeFileSync(join(out, `${docC.transaction_hash}.json`), '{"not": "a record"}');
    const r = await runCli(['audit', 'sign', '--batch', join(d, 'in.jsonl'), '--out-dir', out, '--key-file', keyFile]);
    expect(r.code).toBe(2);
    noStack(r.stderr);
    const reported = [...r.stderr.matchAll(/line (\d+): error (ERR_[A-Z_]+):/g)].map((m) => [Number(m[1]), m[2]]);
    expect(reported.sort((x, y) => (x[0] as number) - (y[0] as number))).toEqual([
      [2, 'ERR_JSON_SYNTAX'],
      [3, 'ERR_PAYLOAD_INVALID'],
      [4, 'ERR_PAYLOAD_INVALID'],
      [5, 'ERR_PAYLOAD_INVALID'],
      [8, 'ERR_OUTPUT_WRITE'],
    ]);
    expect(r.stderr).toMatch(/2 signed, 0 already signed, 5 bad \(lines 2, 3, 4, 5, 8\)/);
    expect(readdirSync(out).sort()).toEqual(
      [`${docA.transaction_hash}.json`, `${docB.transaction_hash}.json`, `${docC.transaction_hash}.json`].sort(),
    );
    expect(readFileSync(join(out, `${docC.transaction_hash}.json`), 'utf8')).toBe('{"not": "a record"}');
    expect(existsSync('/tmp/escaped.json')).toBe(false);
  });

  it('reads the batch from stdin with --batch -', async () => {
    const d = scratchDir('erst-batch-stdin-');
    const input = readFileSync(payloads, 'utf8').split('\n').slice(0, 25).join('\n');
    const r = await runCli(['audit', 'sign', '--batch', '-', '--out', join(d, 'out.jsonl'), '--key-file', keyFile], {
      input,
    });
    expect(r.code, r.stderr).toBe(0);
    const lines = readFileSync(join(d, 'out.jsonl'), 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(25);
    for (const l of lines) expect((await verifier.verify(l)).valid).toBe(true);
  });

  it('refuses inconsistent flags (exit 2, ERR_USAGE) before doing anything', async () => {
    const d = scratchDir('erst-batch-usage-');
    const base = ['audit', 'sign', '--key-file', keyFile];
    const cases = [
      [...base, '--batch', payloads],
      [...base, '--batch', payloads, '--out-dir', join(d, 'o'), '--out', join(d, 'o.jsonl')],
      [...base, '--batch', payloads, '--out-dir', join(d, 'o'), '--payload', '{}'],
      [...base, '--batch', payloads, '--out-dir', join(d, 'o'), '--transaction-hash', 'ab'.repeat(32)],
      [...base, '--batch', payloads, '--out-dir', join(d, 'o'), '--concurrency', '0'],
      [...base, '--payload', '{}', '--out-dir', join(d, 'o')],
      [...base],
    ];
    for (const args of cases) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toContain('ERR_USAGE');
      noStack(r.stderr);
    }
    expect(readdirSync(d)).toEqual([]);
    const missing = await runCli([...base, '--batch', join(d, 'nope.jsonl'), '--out-dir', join(d, 'o')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('ERR_FILE_NOT_FOUND');
  });

  it('progress: a bar with rate and ETA on a terminal, nothing with --quiet', async () => {
    const d = scratchDir('erst-batch-tty-');
    // script(1) gives the batch a pseudo-terminal, as an operator's shell would.
    const cmd = [
      ERST,
      'audit',
      'sign',
      '--batch',
      payloads,
      '--out-dir',
      join(d, 'out'),
      '--key-file',
      keyFile,
      '--concurrency',
      '2',
    ];
    const r = await run('script', ['-qec', cmd.map((a) => `'${a}'`).join(' '), '/dev/null']);
    expect(r.code, r.stdout).toBe(0);
    expect(r.stdout).toMatch(/\r\x1b\[2K\[#*\.*\]\s+\d+% [\d,]+\/4,000 [\d,]+\/s ETA \d+:\d\d/);
    expect(r.stdout).toContain('batch done: 4,000 lines: 4,000 signed');

    const quiet = await runCli([
      'audit',
      'sign',
      '--batch',
      payloads,
      '--out-dir',
      join(d, 'out'),
      '--key-file',
      keyFile,
      '--quiet',
    ]);
    expect(quiet.code).toBe(0);
    expect(quiet.stderr).toBe('');
  }, 120_000);

  it("@erst/batch-sign's option errors read as erst's flags (ERR_USAGE, exit 2)", async () => {
    const d = scratchDir('erst-batch-flags-');
    const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
    const options = { signer, input: payloads, output: jsonlSink(join(d, 'o.jsonl')), concurrency: 0 };
    const e = await signBatch(options).then(
      () => undefined,
      (err: unknown) => err,
    );
    expect(formatError(e)).toBe('erst: error ERR_USAGE: --concurrency must be a whole number from 1 to 1024');
    expect(exitCodeFor(e)).toBe(2);
  });

  it('progress text', () => {
    expect(progressLine(500, 2000, 2, true)).toBe(`[${'#'.repeat(8)}${'.'.repeat(22)}]  25% 500/2,000 250/s ETA 0:06`);
    expect(progressLine(500, 2000, 2, false)).toBe('erst: batch: 500 of 2,000 lines (25%), 250/s, ETA 0:06');
    expect(progressLine(0, 2000, 0, false)).toBe('erst: batch: 0 of 2,000 lines (0%), 0/s, ETA ?');
    expect(progressLine(10, undefined, 1, true)).toBe('erst: batch: 10 lines, 10/s');
  });
});
