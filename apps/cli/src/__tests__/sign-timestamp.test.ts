import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type JsonObject, hexToBytes, sha256, utf8Bytes } from '@erst/core';
import { REPO_ROOT, SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, run, runBatch, runCli, tempDir } from '@erst/fixtures';
import { type TestTsa, closedTsaUrl, opensslVerifyToken, startTestTsa } from '@erst/test-tsa';
import { parseNote, parseTlogProof } from '@erst/tlog';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

// The real binaries against a TSA answered by openssl ts -reply (tooling/test-tsa).
const COUNT = 300;
const ORIGIN = 'tsa.example.com/log';
const dir = tempDir('erst-cli-sign-tsa-');
let tsa: TestTsa;
let keyFile: string;
let root: string;
let doc: string;
let payloads: string;

beforeAll(async () => {
  tsa = await startTestTsa();
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  root = join(dir, 'tsa-root.pem');
  writeFileSync(root, tsa.rootPem);
  const gen = await run(process.execPath, [
    join(REPO_ROOT, 'tooling', 'bench', 'gen-payloads.mjs'),
    String(COUNT),
    'tsa',
  ]);
  expect(gen.code).toBe(0);
  payloads = join(dir, 'payloads.jsonl');
  writeFileSync(payloads, gen.stdout);
  doc = join(dir, 'doc.json');
  writeFileSync(doc, gen.stdout.split('\n')[0]!);
}, 120_000);
afterAll(async () => {
  await tsa.close();
  rmSync(dir, { recursive: true, force: true });
});
afterEach(() => tsa.behave({}));

const sign = (args: string[]) => runCli(['audit', 'sign', '--key-file', keyFile, ...args]);
const lines = (path: string): JsonObject[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as JsonObject)
    : [];

/** Requests the test TSA received while `fn` ran. */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; requests: number }> {
  const before = tsa.requests;
  const result = await fn();
  return { result, requests: tsa.requests - before };
}

describe('erst audit sign --tsa-url (single record)', () => {
  it('writes 2.1.0 with a token over trace_hash: audit verify shows it timestamped, openssl ts -verify accepts it', async () => {
    const out = join(dir, 'single.json');
    const { result: r, requests } = await counted(() =>
      sign(['--payload', `@${doc}`, '--tsa-url', tsa.url, '--tsa-root', root, '--out', out]),
    );
    expect([r.code, requests]).toEqual([0, 1]);
    expect(r.stderr).toMatch(/^signed [0-9a-f]{64} as 2\.1\.0 with ed25519 key [0-9a-f]{64}, timestamped -> /);
    const record = JSON.parse(readFileSync(out, 'utf8')) as JsonObject;
    expect(record.version).toBe('2.1.0');
    expect(Object.keys(record).slice(-1)).toEqual(['timestamp_token']);

    const v = await runCli(['audit', 'verify', out, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--tsa-root', root]);
    expect(v.code).toBe(0);
    expect(v.stdout).toMatch(/timestamped \d{4}-\d\d-\d\dT[^ ]+Z by "[^"]*TSA[^"]*"/);
    const required = await runCli(['audit', 'verify', out, '--require-timestamp', '--tsa-root', root]);
    expect(required.code).toBe(0);

    const token = Buffer.from(record.timestamp_token as string, 'base64');
    const openssl = await opensslVerifyToken({
      token,
      digest: hexToBytes(record.trace_hash as string)!,
      rootPem: tsa.rootPem,
    });
    expect(openssl.stdout).toContain('Verification: OK');
    expect(openssl.code).toBe(0);
  });

  it('a TSA answering HTTP 500 and then a token is retried: one record, two requests', async () => {
    tsa.behave({ failFirst: { count: 1, with: 500 } });
    const { result: r, requests } = await counted(() => sign(['--payload', `@${doc}`, '--tsa-url', tsa.url]));
    expect(r.code).toBe(0);
    expect(requests).toBe(2);
    expect(JSON.parse(r.stdout).timestamp_token).toMatch(/^[A-Za-z0-9+/]+=*$/);
  });

  it('no token, no record: a TSA that is down is ERR_TSA_UNREACHABLE (exit 3) and --out is not written', async () => {
    const out = join(dir, 'never.json');
    const r = await sign([
      '--payload',
      `@${doc}`,
      '--tsa-url',
      await closedTsaUrl(),
      '--tsa-retries',
      '0',
      '--out',
      out,
    ]);
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^erst: error ERR_TSA_UNREACHABLE: /);
    expect(existsSync(out)).toBe(false);
    tsa.behave({ answer: 'reject' });
    const rejected = await sign(['--payload', `@${doc}`, '--tsa-url', tsa.url, '--out', out]);
    expect([rejected.code, rejected.stderr]).toEqual([3, expect.stringMatching(/^erst: error ERR_TSA_REJECTED: /)]);
    expect(existsSync(out)).toBe(false);
  });

  it('--tsa-root: a token under another root is refused before anything is written', async () => {
    const other = await startTestTsa();
    try {
      const out = join(dir, 'other-root.json');
      const r = await sign(['--payload', `@${doc}`, '--tsa-url', other.url, '--tsa-root', root, '--out', out]);
      expect(r.stderr).toMatch(/^erst: error ERR_TIMESTAMP_UNTRUSTED_ROOT: /);
      expect(r.code).toBe(1);
      expect(existsSync(out)).toBe(false);
    } finally {
      await other.close();
    }
  });

  it.each([
    [['--schema', '2.0.0', '--tsa-url', 'http://127.0.0.1:1/'], '--tsa-url writes 2.1.0 records, not --schema 2.0.0'],
    [['--tsa-retries', '1'], '--tsa-retries goes with --tsa-url'],
    [['--tsa-url', 'http://127.0.0.1:1/', '--tsa-retries', '11'], '--tsa-retries'],
    [['--tsa-url', 'ftp://127.0.0.1/'], '--tsa-url'],
    [['--tsa-url', 'http://127.0.0.1:1/', '--tsa-timeout', '0'], '--tsa-timeout'],
  ])('%j is a usage error naming the flag (exit 2), nothing asked', async (args, says) => {
    const { result: r, requests } = await counted(() => sign(['--payload', `@${doc}`, ...args]));
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(says);
    expect(r.stdout).toBe('');
    expect(requests).toBe(0);
  });
});

describe('erst audit sign --batch --tsa-url', () => {
  it('TSA down: every unsigned line reported, none written, exit 3; the rerun finishes exactly the rest; all verify with --require-timestamp', {
    timeout: 300_000,
  }, async () => {
    const out = join(dir, 'batch.jsonl');
    const firstThird = join(dir, 'first-third.jsonl');
    writeFileSync(firstThird, `${readFileSync(payloads, 'utf8').split('\n').slice(0, 100).join('\n')}\n`);
    const first = await sign(['--batch', firstThird, '--out', out, '--tsa-url', tsa.url, '--tsa-concurrency', '4']);
    expect([first.code, lines(out).length]).toEqual([0, 100]);

    const down = await sign([
      '--batch',
      payloads,
      '--out',
      out,
      '--tsa-url',
      await closedTsaUrl(),
      '--tsa-retries',
      '0',
    ]);
    expect(down.code).toBe(3);
    const reported = down.stderr.split('\n').filter((l) => / line \d+: error ERR_TSA_UNREACHABLE: /.test(l));
    expect(reported).toHaveLength(COUNT - 100);
    expect(down.stderr).toContain(`${COUNT - 100} without a timestamp token (lines 101, 102,`);
    expect(down.stderr).toContain('100 already signed');
    expect(lines(out)).toHaveLength(100);

    const { result: up, requests } = await counted(() =>
      sign(['--batch', payloads, '--out', out, '--tsa-url', tsa.url]),
    );
    expect(up.code).toBe(0);
    expect(up.stderr).toContain(`${COUNT - 100} signed, 100 already signed`);
    expect(up.stderr).toContain('2.1.0 records');
    expect(requests).toBe(COUNT - 100);
    const records = lines(out);
    expect(new Set(records.map((r) => r.transaction_hash)).size).toBe(COUNT);
    expect(records.every((r) => r.version === '2.1.0' && typeof r.timestamp_token === 'string')).toBe(true);

    const v = await runBatch([
      'verify',
      out,
      '--public-key',
      SIGNING_PUBLIC_KEY_HEX,
      '--tsa-root',
      root,
      '--require-timestamp',
      '--json',
      '-',
      '-q',
    ]);
    expect(v.code).toBe(0);
    expect(JSON.parse(v.stdout)).toMatchObject({ totals: { records: COUNT, valid: COUNT, invalid: 0 } });
  });

  it('--log: one TSA request per checkpoint, and every proof carries its checkpoint token in `extra`', {
    timeout: 120_000,
  }, async () => {
    const logDir = join(dir, 'log');
    const init = await runCli(['log', 'init', logDir, '--origin', ORIGIN, '--key-file', keyFile]);
    expect(init.code).toBe(0);
    const out = join(dir, 'logged.jsonl');
    const args = [
      '--batch',
      payloads,
      '--out',
      out,
      '--log',
      logDir,
      '--checkpoint-every',
      '100',
      '--tsa-url',
      tsa.url,
    ];
    const { result: r, requests } = await counted(() => sign([...args, '--tsa-root', root]));
    expect(r.code).toBe(0);
    expect(r.stderr).toContain('3 checkpoints, 303 key signatures, 3 checkpoint timestamps');
    expect(requests).toBe(3);

    const byCheckpoint = new Map<string, Set<string>>();
    for (const record of lines(out)) {
      expect(record.timestamp_token).toBeUndefined();
      const proof = parseTlogProof(record.log_proof as string);
      const text = parseNote(proof.checkpoint).text;
      const token = Buffer.from(proof.extra!).toString('base64');
      byCheckpoint.set(text, (byCheckpoint.get(text) ?? new Set()).add(token));
    }
    expect(byCheckpoint.size).toBe(3);
    for (const [text, tokens] of byCheckpoint) {
      expect(tokens.size).toBe(1);
      const token = Buffer.from([...tokens][0]!, 'base64');
      const openssl = await opensslVerifyToken({ token, digest: sha256(utf8Bytes(text)), rootPem: tsa.rootPem });
      expect([openssl.code, openssl.stdout]).toEqual([0, expect.stringContaining('Verification: OK')]);
    }
  });
});
