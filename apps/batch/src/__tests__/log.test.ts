import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { randomBytes } from 'node:crypto';
import { bytesToHex } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, runCli } from '@erst/fixtures';
import { initLog, readLog } from '@erst/log-store';
import { noteSignerFromSigner, parseVerifierKey } from '@erst/tlog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '@erst/batch-verify';
import { hasStackTrace, runBatch, scratchDir, signer, writeKey } from './helpers.js';

// Records built by the real `erst audit sign --batch --log`, a checkpoint every 5
// records: 12 records, proofs against checkpoints of sizes 5, 10 and 12.
const ORIGIN = 'audit.test/log';
const RECORDS = 12;
const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];

let dir: string;
let keyFile: string;
let vkey: string;
/** The signed log and its archive, never changed: each test copies them. */
let log: string;
let lines: string[];
/** Each record's index in the log, from its proof. */
let indexOf: number[];

function payloads(n: number, salt: string): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      transaction_hash: `${salt}${i.toString(16).padStart(8, '0')}`.padStart(64, '0'),
      payload: { events: [`event ${i}`], logs: [] },
    }),
  ).join('\n');
}

async function erst(args: string[]): Promise<string> {
  const r = await runCli(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

/** A new log at `to` under the same key and origin, holding `entries` (a history of its own). */
async function rebuildLog(to: string, entries: readonly Uint8Array[]): Promise<void> {
  const writer = await initLog(to, { origin: ORIGIN, signer: await noteSignerFromSigner(ORIGIN, signer) });
  for (const e of entries) writer.append(e);
  await writer.checkpoint();
  await writer.close();
}

async function entriesOf(logDir: string): Promise<Uint8Array[]> {
  return [...(await readLog(logDir, { verifiers: parseVerifierKey(vkey) })).entries];
}

function archive(name: string, records: readonly string[]): string {
  const path = join(dir, `${name}.jsonl`);
  writeFileSync(path, `${records.join('\n')}\n`);
  return path;
}

async function verify(
  inputs: string[],
  logSource: string,
  extra: string[] = [],
): Promise<{ code: number | null; report: Report; stderr: string; stdout: string }> {
  const r = await runBatch([
    'verify',
    ...inputs,
    ...PIN,
    '--log',
    logSource,
    '--log-key',
    vkey,
    '--json',
    '-',
    ...extra,
  ]);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr, stdout: r.stdout };
}

beforeAll(async () => {
  dir = scratchDir('erst-batch-log-');
  keyFile = writeKey(dir, SIGNING_KEY_PEM, 'log.pem');
  log = join(dir, 'log');
  await erst(['log', 'init', log, '--origin', ORIGIN, '--key-file', keyFile]);
  vkey = (await erst(['log', 'verifier-key', '--origin', ORIGIN, '--key-file', keyFile])).trim();
  writeFileSync(join(dir, 'payloads.jsonl'), payloads(RECORDS, 'a'));
  const out = join(dir, 'signed.jsonl');
  const signed = [
    'audit',
    'sign',
    '--key-file',
    keyFile,
    '--batch',
    join(dir, 'payloads.jsonl'),
    '--log',
    log,
    '--no-record-signature',
    '--checkpoint-every',
    '5',
    '--out',
    out,
    '--quiet',
  ];
  await erst(signed);
  lines = readFileSync(out, 'utf8').trim().split('\n');
  indexOf = lines.map((l) => Number(/\nindex (\d+)\n/.exec(JSON.parse(l).log_proof as string)![1]));
  expect(lines).toHaveLength(RECORDS);
}, 60_000);

describe('erst-batch verify --log: archive and log match both ways', () => {
  it('an intact archive passes; the report, JUnit, HTML and summary name the log', async () => {
    const junit = join(dir, 'intact.xml');
    const html = join(dir, 'intact.html');
    const r = await verify([archive('intact', lines)], log, ['--junit', junit, '--html', html]);
    expect(r.code).toBe(0);
    const l = r.report.log!;
    expect(l).toMatchObject({
      source: log,
      status: 'verified',
      origin: ORIGIN,
      size: RECORDS,
      records_in_log: RECORDS,
      missing: [],
      not_in_log: [],
      inconsistent_checkpoints: [],
      previous: null,
      consistent: null,
    });
    // One comparison per distinct checkpoint (sizes 5, 10 and 12), not one per record.
    expect(l.checkpoints).toBe(3);
    expect(r.stderr).toContain(`Log (${log}): origin ${ORIGIN}, size 12,`);
    expect(readFileSync(junit, 'utf8')).toContain('12 of 12 log entries have a record');
    expect(readFileSync(html, 'utf8')).toContain('id="log-status" data-status="verified"');
  });

  it('deletion: a record removed from the archive leaves its entry missing, by index (ERR_LOG_ENTRY_MISSING)', async () => {
    const junit = join(dir, 'deleted.xml');
    const html = join(dir, 'deleted.html');
    const r = await verify(
      [
        archive(
          'deleted',
          lines.filter((_, i) => i !== 3),
        ),
      ],
      log,
      ['--junit', junit, '--html', html],
    );
    expect(r.code).toBe(1);
    expect(r.report.log).toMatchObject({ status: 'failed', missing: [indexOf[3]], not_in_log: [], records_in_log: 11 });
    expect(r.report.by_code).toEqual({ ERR_LOG_ENTRY_MISSING: 1 });
    expect(r.report.failures[0]).toMatchObject({ kind: 'log', source: `${log} entry ${indexOf[3]}` });
    const xml = readFileSync(junit, 'utf8');
    expect(xml).toMatch(/<testsuite name="log" tests="2" failures="1"/);
    expect(xml).toContain('ERR_LOG_ENTRY_MISSING');
    const page = readFileSync(html, 'utf8');
    expect(page).toContain('id="log-status" data-status="failed"');
    expect(page).toContain(`<ul id="log-missing"><li>entry ${indexOf[3]}</li></ul>`);
  });

  it('insertion: a record logged in another history under the same key is not in the log', async () => {
    // A fork: a second log with the same key and origin, one record signed into it.
    const fork = join(dir, 'fork');
    await erst(['log', 'init', fork, '--origin', ORIGIN, '--key-file', keyFile]);
    writeFileSync(join(dir, 'one.jsonl'), payloads(1, 'b'));
    const forked = join(dir, 'forked.jsonl');
    await erst([
      'audit',
      'sign',
      '--key-file',
      keyFile,
      '--batch',
      join(dir, 'one.jsonl'),
      '--log',
      fork,
      '--no-record-signature',
      '--out',
      forked,
      '--quiet',
    ]);
    const inserted = archive('inserted', [...lines, readFileSync(forked, 'utf8').trim()]);
    const r = await verify([inserted], log);
    expect(r.code).toBe(1);
    // The record itself verifies (its proof holds under the log's key): only the log says it does not belong.
    expect(r.report.totals).toMatchObject({ records: 13, valid: 13 });
    expect(r.report.log).toMatchObject({ status: 'failed', missing: [], not_in_log: [`${inserted}:13`] });
    expect(r.report.log!.inconsistent_checkpoints).toEqual([1]);
    expect(r.report.by_code).toEqual({ ERR_LOG_CHECKPOINT_MISMATCH: 1, ERR_LOG_RECORD_NOT_IN_LOG: 1 });
  });

  it('reordering: a log rebuilt with two entries swapped, under the same key', async () => {
    const entries = await entriesOf(log);
    [entries[2], entries[7]] = [entries[7]!, entries[2]!];
    const swapped = join(dir, 'swapped-log');
    await rebuildLog(swapped, entries);
    const r = await verify([archive('reordered', lines)], swapped);
    expect(r.code).toBe(1);
    const moved = lines.map((_, i) => i).filter((i) => indexOf[i] === 2 || indexOf[i] === 7);
    expect(r.report.log!.not_in_log).toEqual(moved.map((i) => `${join(dir, 'reordered.jsonl')}:${i + 1}`).sort());
    expect(r.report.log!.missing).toEqual([2, 7]);
    // Every checkpoint the records carry covers index 2 or 7: none is this log's history.
    expect(r.report.log!.inconsistent_checkpoints).toEqual([5, 10, 12]);
    expect(Object.keys(r.report.by_code).sort()).toEqual([
      'ERR_LOG_CHECKPOINT_MISMATCH',
      'ERR_LOG_ENTRY_MISSING',
      'ERR_LOG_RECORD_NOT_IN_LOG',
    ]);
  });

  it('history rewrite: a log rebuilt with one entry changed, under the same key', async () => {
    const entries = await entriesOf(log);
    entries[11] = new Uint8Array(randomBytes(32));
    const rewritten = join(dir, 'rewritten-log');
    await rebuildLog(rewritten, entries);
    const r = await verify([archive('rewritten', lines)], rewritten);
    expect(r.code).toBe(1);
    expect(r.report.log).toMatchObject({ status: 'failed', missing: [11], inconsistent_checkpoints: [12] });
    expect(r.report.log!.not_in_log).toHaveLength(1);
    expect(r.report.by_code).toEqual({
      ERR_LOG_CHECKPOINT_MISMATCH: 1,
      ERR_LOG_ENTRY_MISSING: 1,
      ERR_LOG_RECORD_NOT_IN_LOG: 1,
    });
  });

  it('a log that is not there is unreadable input (exit 2); a log under another key fails (exit 1)', async () => {
    const gone = await verify([archive('gone', lines)], join(dir, 'no-such-log'));
    expect(gone.code).toBe(2);
    expect(gone.report.log).toMatchObject({ status: 'unreadable', size: null });
    expect(gone.report.by_code).toEqual({ ERR_FILE_NOT_FOUND: 1 });
    expect(gone.stderr).toMatch(/erst-batch: error ERR_FILE_NOT_FOUND: .*no-such-log/);

    const other = join(dir, 'other-key-log');
    const entries = await entriesOf(log);
    const stranger = (await import('@erst/signer-memory')).generateKeyPair().signer;
    const writer = await initLog(other, { origin: ORIGIN, signer: await noteSignerFromSigner(ORIGIN, stranger) });
    for (const e of entries) writer.append(e);
    await writer.checkpoint();
    await writer.close();
    const r = await verify([archive('other', lines)], other);
    expect(r.code).toBe(1);
    expect(r.report.log).toMatchObject({ status: 'failed', size: null });
    expect(r.report.by_code).toEqual({ ERR_NOTE_UNVERIFIED: 1 });
  });

  it('bad usage: --log without --log-key, or with --shard (exit 2, flags named)', async () => {
    const a = archive('usage', lines);
    const noKey = await runBatch(['verify', a, '--log', log]);
    expect(noKey.code).toBe(2);
    // The check is runVerify's own (`log` needs `logKeys`), named in flags.
    expect(noKey.stderr).toMatch(/ERR_USAGE: --log needs --log-key/);
    const sharded = await runBatch(['verify', a, '--log', log, '--log-key', vkey, '--shard', '1/2']);
    expect(sharded.code).toBe(2);
    expect(sharded.stderr).toMatch(/ERR_USAGE: --log and --shard do not go together/);
    const badKey = await runBatch(['verify', a, '--log', log, '--log-key', 'not-a-key']);
    expect(badKey.code).toBe(2);
    expect(badKey.stderr).toMatch(/ERR_USAGE: --log-key entry 1 is not a verifier key/);
    for (const r of [noKey, sharded, badKey]) expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  });
});

describe('erst-batch verify --log --state: the log may only grow between runs', () => {
  it('a rolled-back log fails with ERR_TLOG_CONSISTENCY_INVALID, and the state keeps the larger checkpoint', async () => {
    const state = join(dir, 'rollback-state.jsonl');
    // The archive grows as the log does: its first five lines are the log's first five entries.
    const first5 = lines.slice(0, 5);
    expect(indexOf.slice(0, 5)).toEqual([0, 1, 2, 3, 4]);
    const small = join(dir, 'small-log');
    await rebuildLog(small, (await entriesOf(log)).slice(0, 5));

    const baseline = await verify([archive('growing', first5)], small, ['--state', state]);
    expect(baseline.code, baseline.stdout).toBe(0);
    expect(readFileSync(state, 'utf8').split('\n')[0]).toContain(`"log":{"origin":"${ORIGIN}","size":5,`);

    const grown = await verify([archive('growing', lines)], log, ['--state', state]);
    expect(grown.code).toBe(0);
    expect(grown.report.log).toMatchObject({ previous: { size: 5 }, consistent: true, status: 'verified' });

    const rolledBack = await verify([archive('growing', lines)], small, ['--state', state]);
    expect(rolledBack.code).toBe(1);
    expect(rolledBack.report.log).toMatchObject({ previous: { size: 12 }, consistent: false, status: 'failed' });
    expect(rolledBack.report.by_code.ERR_TLOG_CONSISTENCY_INVALID).toBe(1);
    expect(rolledBack.report.state!.written).toBe(false);

    // The state still holds size 12: the rollback is caught again, not accepted as the new baseline.
    const again = await verify([archive('growing', lines)], small, ['--state', state]);
    expect(again.report.by_code.ERR_TLOG_CONSISTENCY_INVALID).toBe(1);
  });

  it('a log rewritten at the same size after the state was recorded fails too', async () => {
    const state = join(dir, 'rewrite-state.jsonl');
    const first = await verify([archive('all', lines)], log, ['--state', state]);
    expect(first.code).toBe(0);
    const entries = await entriesOf(log);
    entries[0] = new Uint8Array(randomBytes(32));
    const rewritten = join(dir, 'rewritten-log-2');
    await rebuildLog(rewritten, entries);
    const r = await verify([archive('all', lines)], rewritten, ['--state', state]);
    expect(r.report.log!.consistent).toBe(false);
    expect(r.report.by_code.ERR_TLOG_CONSISTENCY_INVALID).toBe(1);
  });
});

describe('erst-batch verify --log over HTTP', () => {
  let server: Server;
  let base: string;
  beforeAll(async () => {
    // A static file server on 127.0.0.1 (the layout is static files: any web server serves it).
    const root = join(dir, 'served');
    cpSync(log, join(root, 'log'), { recursive: true });
    server = createServer((req, res) => {
      const path = normalize(join(root, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
      try {
        if (!path.startsWith(root + sep)) throw new Error('outside');
        const body = readFileSync(path);
        res.writeHead(200, { 'content-length': body.length }).end(body);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address() as { port: number };
    base = `http://127.0.0.1:${address.port}/log`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('verifies the same as the directory, and a deletion the same way', async () => {
    const fromDir = await verify([archive('http', lines)], log);
    const fromHttp = await verify([archive('http', lines)], base);
    expect(fromHttp.code).toBe(0);
    expect({ ...fromHttp.report.log, source: '' }).toEqual({ ...fromDir.report.log, source: '' });
    const deleted = await verify([archive('http-deleted', lines.slice(1))], base);
    expect(deleted.code).toBe(1);
    expect(deleted.report.log!.missing).toEqual([indexOf[0]]);
  });
});

// The trace hashes the log holds are the records' own: a sanity check of the fixture itself.
it('the fixture: the log holds each record trace_hash at the index its proof names', async () => {
  const entries = await entriesOf(log);
  lines.forEach((l, i) => {
    expect(bytesToHex(entries[indexOf[i]!]!)).toBe(JSON.parse(l).trace_hash);
  });
});
