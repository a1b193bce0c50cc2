import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { generateWithSigner } from '@erst/core';
import { REPO_ROOT, SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, tempDir } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { afterAll, describe, expect, it } from 'vitest';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
/** Longer than any of these runs takes when nothing blocks; a tool that hangs is killed at this point and fails. */
const HANG_MS = 8000;

const made: string[] = [];
const running: ChildProcess[] = [];
function scratch(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const c of running.splice(0)) c.kill('SIGKILL');
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

let tx = 0;
async function record(): Promise<string> {
  tx++;
  const transactionHash = tx.toString(16).padStart(64, 'f');
  return JSON.stringify(
    await generateWithSigner(
      signer,
      { transactionHash, payload: { envelope_xdr: 'AAAA', events: [], logs: [] } },
      { attestation: null },
    ),
  );
}

interface Timed {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function start(
  bin: 'erst' | 'erst-batch' | 'sh',
  args: readonly string[],
  timeoutMs = HANG_MS,
): { child: ChildProcess; done: Promise<Timed> } {
  const t0 = performance.now();
  const child = spawn(bin === 'sh' ? 'sh' : join(REPO_ROOT, 'node_modules', '.bin', bin), args, {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
  });
  running.push(child);
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (d: Buffer) => out.push(d));
  child.stderr!.on('data', (d: Buffer) => err.push(d));
  const done = new Promise<Timed>((resolve) =>
    child.on('close', (code, signal) =>
      resolve({
        code,
        signal,
        stdout: Buffer.concat(out).toString('utf8'),
        stderr: Buffer.concat(err).toString('utf8'),
        ms: performance.now() - t0,
      }),
    ),
  );
  return { child, done };
}

/** Runs a built binary; one that does not end within HANG_MS is killed (signal SIGKILL in the result). */
function runTimed(bin: 'erst' | 'erst-batch' | 'sh', args: readonly string[]): Promise<Timed> {
  return start(bin, args).done;
}

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A character device like /dev/null, made in a test directory: a tool that replaced it cannot harm the real one. */
function nullDevice(path: string): string {
  execFileSync('mknod', [path, 'c', '1', '3']);
  return path;
}

interface BatchReport {
  exit_code: number;
  totals: { records: number; valid: number; invalid: number; unreadable: number };
  failures: { source: string; code: string; kind: string }[];
}

function failureCodes(report: BatchReport): Record<string, string> {
  return Object.fromEntries(report.failures.map((f) => [f.source, f.code]));
}

describe('FIFOs as inputs: refused at once, never opened blocking', () => {
  it('erst audit verify: a FIFO record, and a link to one, are ERR_FILE_NOT_REGULAR (exit 2); the other record verifies', async () => {
    const d = scratch('erst-adv-files-');
    const fifo = mkfifo(join(d, 'fifo.json'));
    symlinkSync(fifo, join(d, 'link.json'));
    writeFileSync(join(d, 'good.json'), await record());
    const r = await runTimed('erst', [
      'audit',
      'verify',
      fifo,
      join(d, 'link.json'),
      join(d, 'good.json'),
      ...PIN,
      '--json',
    ]);
    expect(r.signal, 'erst hung on the FIFO').toBeNull();
    expect(r.code).toBe(2);
    const results = (
      JSON.parse(r.stdout) as { results: { file: string; valid: boolean; errors: { code: string }[] }[] }
    ).results;
    expect(results.map((x) => [x.file, x.valid, x.errors[0]?.code ?? null])).toEqual([
      [fifo, false, 'ERR_FILE_NOT_REGULAR'],
      [join(d, 'link.json'), false, 'ERR_FILE_NOT_REGULAR'],
      [join(d, 'good.json'), true, null],
    ]);
  });

  it('erst-batch verify: a FIFO and a link to a FIFO in an archive directory are each reported with their path; the rest is verified', async () => {
    const d = scratch('erst-adv-files-');
    const logs = join(d, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.json'), await record());
    writeFileSync(join(logs, 'c.json'), await record());
    mkfifo(join(logs, 'b.json'));
    mkdirSync(join(logs, 'sub'));
    mkfifo(join(logs, 'sub', 'pipe'));
    symlinkSync(join('sub', 'pipe'), join(logs, 'd.json'));
    mkfifo(join(logs, 'e.json.fifo')); // not a .json name: not an input at all
    const r = await runTimed('erst-batch', ['verify', logs, ...PIN, '--json', '-', '-q']);
    expect(r.signal, 'erst-batch hung on a FIFO').toBeNull();
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as BatchReport;
    expect(report.totals).toEqual({ records: 2, valid: 2, invalid: 0, unreadable: 2 });
    expect(failureCodes(report)).toEqual({
      [join(logs, 'b.json')]: 'ERR_FILE_NOT_REGULAR',
      [join(logs, 'd.json')]: 'ERR_FILE_NOT_REGULAR',
    });
  });

  it('erst-batch verify: a FIFO named as a .jsonl or .json input is ERR_FILE_NOT_REGULAR (exit 2)', async () => {
    const d = scratch('erst-adv-files-');
    const jsonl = mkfifo(join(d, 'in.jsonl'));
    const json = mkfifo(join(d, 'one.json'));
    const r = await runTimed('erst-batch', ['verify', jsonl, json, ...PIN, '--json', '-', '-q']);
    expect(r.signal, 'erst-batch hung on a FIFO').toBeNull();
    expect(r.code).toBe(2);
    expect(failureCodes(JSON.parse(r.stdout) as BatchReport)).toEqual({
      [jsonl]: 'ERR_FILE_NOT_REGULAR',
      [json]: 'ERR_FILE_NOT_REGULAR',
    });
  });

  it('erst-batch verify --state <FIFO> is refused with ERR_FILE_NOT_REGULAR (exit 2), and the FIFO stays a FIFO', async () => {
    const d = scratch('erst-adv-files-');
    writeFileSync(join(d, 'in.jsonl'), `${await record()}\n`);
    const state = mkfifo(join(d, 'state.jsonl'));
    const r = await runTimed('erst-batch', ['verify', join(d, 'in.jsonl'), ...PIN, '--state', state, '-q']);
    expect(r.signal, 'erst-batch hung on the FIFO').toBeNull();
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error ERR_FILE_NOT_REGULAR:/);
    expect(statSync(state).isFIFO()).toBe(true);
  });

  it('erst audit sign --batch: a FIFO as the input is ERR_FILE_NOT_REGULAR, as the .jsonl output ERR_OUTPUT_WRITE (exit 2), before signing', async () => {
    const d = scratch('erst-adv-files-');
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    const fifoIn = mkfifo(join(d, 'in-fifo.jsonl'));
    const input = join(d, 'in.jsonl');
    writeFileSync(input, `${JSON.stringify({ transaction_hash: 'ab'.repeat(32), payload: { logs: [] } })}\n`);
    const fromFifo = await runTimed('erst', [
      'audit',
      'sign',
      '--key-file',
      key,
      '--batch',
      fifoIn,
      '--out',
      join(d, 'out.jsonl'),
    ]);
    expect(fromFifo.signal, 'erst hung on the FIFO input').toBeNull();
    expect(fromFifo.code).toBe(2);
    expect(fromFifo.stderr).toMatch(/error ERR_FILE_NOT_REGULAR:/);
    const fifoOut = mkfifo(join(d, 'out-fifo.jsonl'));
    const toFifo = await runTimed('erst', ['audit', 'sign', '--key-file', key, '--batch', input, '--out', fifoOut]);
    expect(toFifo.signal, 'erst hung on the FIFO output').toBeNull();
    expect(toFifo.code).toBe(2);
    expect(toFifo.stderr).toMatch(/error ERR_OUTPUT_WRITE:/);
    expect(statSync(fifoOut).isFIFO()).toBe(true);
  });

  it("a FIFO as a trust file's attestation root: erst and erst-batch refuse it with ERR_FILE_NOT_REGULAR (exit 2)", async () => {
    const d = scratch('erst-adv-files-');
    mkfifo(join(d, 'root.pem'));
    writeFileSync(
      join(d, 'trust.json'),
      JSON.stringify({ keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX }], attestation_roots: ['root.pem'] }),
    );
    writeFileSync(join(d, 'r.json'), await record());
    const cli = await runTimed('erst', ['audit', 'verify', join(d, 'r.json'), '--trust', join(d, 'trust.json')]);
    expect(cli.signal, 'erst hung on the FIFO').toBeNull();
    expect(cli.code).toBe(2);
    expect(cli.stderr).toMatch(/ERR_FILE_NOT_REGULAR/);
    const batch = await runTimed('erst-batch', ['verify', join(d, 'r.json'), '--trust', join(d, 'trust.json'), '-q']);
    expect(batch.signal, 'erst-batch hung on the FIFO').toBeNull();
    expect(batch.code).toBe(2);
    expect(batch.stderr).toMatch(/error ERR_FILE_NOT_REGULAR:/);
  });
});

describe('symbolic links out of the archive', () => {
  it('are not followed: ERR_FILE_OUTSIDE_ROOT with the link path, and the target content is in no report; links inside still work', async () => {
    const d = scratch('erst-adv-files-');
    const logs = join(d, 'logs');
    mkdirSync(join(logs, 'sub'), { recursive: true });
    writeFileSync(join(d, 'secret.txt'), 'root:x:0:0:OUTSIDE-SECRET-7f3a:/root:/bin/bash\n');
    writeFileSync(join(logs, 'sub', 'good.json'), await record());
    symlinkSync(join('sub', 'good.json'), join(logs, 'inside.json'));
    symlinkSync(join('..', 'secret.txt'), join(logs, 'passwd.json'));
    symlinkSync('/etc/passwd', join(logs, 'etc.json'));
    const out = join(d, 'out');
    mkdirSync(out);
    const r = await runTimed('erst-batch', [
      'verify',
      logs,
      ...PIN,
      '--json',
      join(out, 'r.json'),
      '--html',
      join(out, 'r.html'),
      '--junit',
      join(out, 'j.xml'),
    ]);
    expect(r.code, r.stderr).toBe(2);
    const json = readFileSync(join(out, 'r.json'), 'utf8');
    const report = JSON.parse(json) as BatchReport;
    expect(report.totals).toEqual({ records: 2, valid: 2, invalid: 0, unreadable: 2 });
    expect(failureCodes(report)).toEqual({
      [join(logs, 'etc.json')]: 'ERR_FILE_OUTSIDE_ROOT',
      [join(logs, 'passwd.json')]: 'ERR_FILE_OUTSIDE_ROOT',
    });
    for (const text of [
      json,
      readFileSync(join(out, 'r.html'), 'utf8'),
      readFileSync(join(out, 'j.xml'), 'utf8'),
      r.stdout,
      r.stderr,
    ]) {
      expect(text).not.toContain('OUTSIDE-SECRET');
      expect(text).not.toContain('root:x:0');
    }
  });
});

describe('outputs: special files are written through or refused, never replaced', () => {
  it('a character device given as --out, --json, --html, --junit stays a character device', async () => {
    const d = scratch('erst-adv-files-');
    const dev = nullDevice(join(d, 'null'));
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    writeFileSync(join(d, 'in.jsonl'), `${await record()}\n`);
    const doc = JSON.stringify({ transaction_hash: 'ab'.repeat(32), payload: { envelope_xdr: 'AAAA' } });
    expect((await runTimed('erst', ['audit', 'sign', '--key-file', key, '--payload', doc, '--out', dev])).code).toBe(0);
    expect((await runTimed('erst', ['keys', 'generate', '--out', dev, '--force'])).code).toBe(0);
    const b = await runTimed('erst-batch', [
      'verify',
      join(d, 'in.jsonl'),
      ...PIN,
      '--json',
      dev,
      '--html',
      dev,
      '--junit',
      dev,
      '-q',
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['in.jsonl', 'key.pem', 'null']);
  });

  it('a FIFO that no one reads fails with ERR_OUTPUT_WRITE (exit 2) at once, and stays a FIFO', async () => {
    const d = scratch('erst-adv-files-');
    const fifo = mkfifo(join(d, 'out'));
    writeFileSync(join(d, 'in.jsonl'), `${await record()}\n`);
    const b = await runTimed('erst-batch', ['verify', join(d, 'in.jsonl'), ...PIN, '--json', fifo, '-q']);
    expect(b.signal, 'erst-batch hung on the FIFO').toBeNull();
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/error ERR_OUTPUT_WRITE:/);
    const k = await runTimed('erst', ['keys', 'generate', '--out', fifo, '--force']);
    expect(k.code).toBe(2);
    expect(k.stderr).toMatch(/ERR_OUTPUT_WRITE/);
    expect(statSync(fifo).isFIFO()).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['in.jsonl', 'out']);
  });

  it('a link to /proc/self/fd/1 writes to stdout and stays a link; a link to a file replaces that file and stays a link', async () => {
    const d = scratch('erst-adv-files-');
    writeFileSync(join(d, 'in.jsonl'), `${await record()}\n`);
    symlinkSync('/proc/self/fd/1', join(d, 'stdout.json'));
    mkdirSync(join(d, 'reports'));
    writeFileSync(join(d, 'reports', 'latest.html'), 'old');
    symlinkSync(join('reports', 'latest.html'), join(d, 'report.html'));
    // As in `erst-batch ... | jq`: stdout is a pipe (a spawned child's stdout would be a socket).
    const args = [
      'verify',
      join(d, 'in.jsonl'),
      ...PIN,
      '--json',
      join(d, 'stdout.json'),
      '--html',
      join(d, 'report.html'),
      '-q',
    ];
    const b = await runTimed('sh', [
      '-c',
      '"$0" "$@" | cat',
      join(REPO_ROOT, 'node_modules', '.bin', 'erst-batch'),
      ...args,
    ]);
    expect(b.code, b.stderr).toBe(0);
    expect((JSON.parse(b.stdout) as BatchReport).totals.valid).toBe(1);
    expect(lstatSync(join(d, 'stdout.json')).isSymbolicLink()).toBe(true);
    expect(lstatSync(join(d, 'report.html')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'reports', 'latest.html'), 'utf8')).toMatch(/^<!doctype html>/i);
    expect(readdirSync(join(d, 'reports'))).toEqual(['latest.html']);
  });

  it('a directory given as --out is ERR_OUTPUT_WRITE (exit 2), with or without a trailing slash', async () => {
    const d = scratch('erst-adv-files-');
    mkdirSync(join(d, 'logs'));
    for (const out of [join(d, 'logs'), `${join(d, 'logs')}/`]) {
      const r = await runTimed('erst', ['keys', 'generate', '--out', out, '--force']);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/error ERR_OUTPUT_WRITE:/);
    }
    expect(readdirSync(join(d, 'logs'))).toEqual([]);
  });
});

describe('killed runs', () => {
  async function bigInput(d: string, lines: number): Promise<string> {
    const line = await record();
    const path = join(d, 'big.jsonl');
    writeFileSync(path, `${line}\n`.repeat(lines));
    return path;
  }

  const stateTemps = (d: string): string[] =>
    readdirSync(d).filter((n) => n.startsWith('.state.jsonl.') && n.endsWith('.tmp'));

  async function until(cond: () => boolean): Promise<void> {
    const t0 = Date.now();
    while (!cond()) {
      if (Date.now() - t0 > HANG_MS) throw new Error('timed out waiting for the run to start');
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
  }

  it('the temporary state file of a run killed with SIGKILL is removed by the next run on the same state', async () => {
    const d = scratch('erst-adv-files-');
    const input = await bigInput(d, 20_000);
    const state = join(d, 'state.jsonl');
    const args = ['verify', input, ...PIN, '--state', state, '-q'];
    const killed = start('erst-batch', args, 60_000);
    await until(() => stateTemps(d).length > 0);
    killed.child.kill('SIGKILL');
    await killed.done;
    expect(stateTemps(d)).toEqual([expect.stringContaining(`.${killed.child.pid}.`)]);
    const r = await start('erst-batch', args, 120_000).done;
    expect(r.code, r.stderr).toBe(0);
    expect(stateTemps(d)).toEqual([]);
    expect(existsSync(state)).toBe(true);
  }, 180_000);

  it('erst audit sign --batch --out-dir removes the record temporaries killed runs left, with and without a pid in the name', async () => {
    const d = scratch('erst-adv-files-');
    const out = join(d, 'out');
    mkdirSync(out);
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    writeFileSync(
      join(d, 'in.jsonl'),
      `${JSON.stringify({ transaction_hash: 'cd'.repeat(32), payload: { envelope_xdr: 'AAAA' } })}\n`,
    );
    const dead = spawnSync('true').pid;
    const leftovers = [
      `.${'ab'.repeat(32)}.json.${dead}.0123456789ab.tmp`,
      `.${'ab'.repeat(32)}.json.0123456789ab.tmp`,
    ];
    for (const name of leftovers) writeFileSync(join(out, name), 'partial');
    const r = await runTimed('erst', [
      'audit',
      'sign',
      '--batch',
      join(d, 'in.jsonl'),
      '--out-dir',
      out,
      '--key-file',
      key,
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(readdirSync(out)).toEqual([`${'cd'.repeat(32)}.json`]);
  });

  it('SIGTERM during a long erst-batch run ends it within a second (exit 143), leaving no temporary file', async () => {
    const d = scratch('erst-adv-files-');
    const input = await bigInput(d, 40_000);
    const run = start('erst-batch', ['verify', input, ...PIN, '--state', join(d, 'state.jsonl'), '-q'], 60_000);
    await until(() => stateTemps(d).length > 0);
    await new Promise((resolve) => setTimeout(resolve, 500)); // workers busy verifying
    const t0 = performance.now();
    run.child.kill('SIGTERM');
    const r = await run.done;
    expect(r.signal).toBeNull();
    expect(r.code).toBe(143);
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(stateTemps(d)).toEqual([]);
  });
});
