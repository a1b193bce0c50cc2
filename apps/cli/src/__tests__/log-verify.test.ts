import { appendFileSync, cpSync, readFileSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import { join, normalize, sep } from 'node:path';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, type RunResult, runCli, tempDir } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { noteSignerFromSigner, openCheckpoint, parseVerifierKey, signCheckpoint } from '@erst/tlog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// Logs and records made by the real `erst log init` and `erst audit sign --batch --log`.
const ORIGIN = 'audit.test/log';

let dir: string;
let keyFile: string;
let vkey: string;
let strangerVkey: string;
/** A log of 6 entries, never changed (tests copy it), and its records. */
let log: string;
let records: string[];
/** The checkpoint of `log`, saved: what a `--since` run compares with. */
let saved6: string;

function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(]\d+/m.test(text);
}

async function erst(args: string[]): Promise<RunResult> {
  const r = await runCli(args);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return r;
}

async function ok(args: string[]): Promise<string> {
  const r = await erst(args);
  expect(r.code, r.stderr).toBe(0);
  return r.stdout;
}

function payloads(n: number, salt: string): string {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({
      transaction_hash: `${salt}${i.toString(16).padStart(8, '0')}`.padStart(64, '0'),
      payload: { events: [`event ${i}`], logs: [] },
    }),
  ).join('\n');
}

/** A new log at `to` (same key and origin unless told), `n` payloads signed into it; returns the records. */
async function signedLog(to: string, n: number, salt: string, key = keyFile): Promise<string[]> {
  if (n >= 0) await ok(['log', 'init', to, '--origin', ORIGIN, '--key-file', key]);
  return appendTo(to, n, salt, key);
}

async function appendTo(to: string, n: number, salt: string, key = keyFile): Promise<string[]> {
  const input = join(dir, `${salt}.jsonl`);
  const out = join(dir, `${salt}-signed.jsonl`);
  writeFileSync(input, payloads(n, salt));
  await ok([
    'audit',
    'sign',
    '--key-file',
    key,
    '--batch',
    input,
    '--log',
    to,
    '--no-record-signature',
    '--out',
    out,
    '--quiet',
  ]);
  return readFileSync(out, 'utf8').trim().split('\n');
}

function copyLog(name: string): string {
  const to = join(dir, name);
  cpSync(log, to, { recursive: true });
  return to;
}

/** The one file under `tile/<sub>` (the logs here are smaller than one tile). */
function onlyTile(logDir: string, sub: string): string {
  const at = join(logDir, 'tile', sub, '000.p');
  const [w] = readdirSync(at);
  return join(at, w!);
}

beforeAll(async () => {
  dir = tempDir('erst-log-verify-');
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  const strangerFile = join(dir, 'stranger.pem');
  await ok(['keys', 'generate', '--out', strangerFile]);
  vkey = (await ok(['log', 'verifier-key', '--origin', ORIGIN, '--key-file', keyFile])).trim();
  strangerVkey = (await ok(['log', 'verifier-key', '--origin', ORIGIN, '--key-file', strangerFile])).trim();
  log = join(dir, 'log');
  records = await signedLog(log, 6, 'a');
  saved6 = join(dir, 'checkpoint-6');
  cpSync(join(log, 'checkpoint'), saved6);
}, 60_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('erst log verify', () => {
  it('prints origin, size and root of a log that verifies (exit 0)', async () => {
    const root = openCheckpoint(readFileSync(saved6), parseVerifierKey(vkey)).root;
    const out = await ok(['log', 'verify', log, '--log-key', vkey]);
    expect(out).toBe(`origin ${ORIGIN}\nsize 6\nroot ${Buffer.from(root).toString('base64')}\n`);
  });

  it('--since: a log that grew from the saved checkpoint passes', async () => {
    const grown = copyLog('grown');
    await appendTo(grown, 2, 'b');
    const out = await ok(['log', 'verify', grown, '--log-key', vkey, '--since', saved6]);
    expect(out).toMatch(/^origin .*\nsize 8\nroot .*\nconsistent with .*checkpoint-6 \(size 6\)\n$/);
  });

  it('--since catches a rewrite (same key, same size, another history) and a rollback: ERR_TLOG_CONSISTENCY_INVALID, exit 1', async () => {
    const rewritten = join(dir, 'rewritten');
    await signedLog(rewritten, 6, 'c');
    const r = await erst(['log', 'verify', rewritten, '--log-key', vkey, '--since', saved6]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^erst: error ERR_TLOG_CONSISTENCY_INVALID: /);
    expect(r.stdout).toBe('');

    const grown = copyLog('grown-for-rollback');
    await appendTo(grown, 1, 'd');
    const saved7 = join(dir, 'checkpoint-7');
    cpSync(join(grown, 'checkpoint'), saved7);
    const back = await erst(['log', 'verify', log, '--log-key', vkey, '--since', saved7]);
    expect(back.code).toBe(1);
    expect(back.stderr).toMatch(/ERR_TLOG_CONSISTENCY_INVALID: the log shrank from 7 to 6 entries/);
  });

  const damaged: [string, (logDir: string) => void, string, number][] = [
    ['a truncated tile', (l) => truncateSync(onlyTile(l, '0'), 100), 'ERR_TLOG_TILE_INVALID', 1],
    [
      'an entry bundle of the wrong size',
      (l) => appendFileSync(onlyTile(l, 'entries'), Buffer.alloc(34)),
      'ERR_TLOG_BUNDLE_INVALID',
      1,
    ],
    ['no checkpoint', (l) => rmSync(join(l, 'checkpoint')), 'ERR_FILE_NOT_FOUND', 2],
  ];
  for (const [what, damage, code, status] of damaged) {
    it(`${what}: ${code}, exit ${status}, never a stack trace`, async () => {
      const copy = copyLog(`damaged-${code}`);
      damage(copy);
      const r = await erst(['log', 'verify', copy, '--log-key', vkey]);
      expect(r.code).toBe(status);
      expect(r.stderr).toMatch(new RegExp(`^erst: error ${code}: `));
    });
  }

  it('a checkpoint under another key: ERR_NOTE_UNVERIFIED, exit 1', async () => {
    const r = await erst(['log', 'verify', log, '--log-key', strangerVkey]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^erst: error ERR_NOTE_UNVERIFIED: /);
  });

  it("a checkpoint for another origin, signed by the log's key: ERR_CHECKPOINT_ORIGIN_MISMATCH, exit 1", async () => {
    const copy = copyLog('other-origin');
    const real = openCheckpoint(readFileSync(saved6), parseVerifierKey(vkey));
    const signer = await noteSignerFromSigner(ORIGIN, InMemorySigner.fromPem(SIGNING_KEY_PEM));
    const note = await signCheckpoint({ origin: 'other.test/log', size: 6, root: real.root, extensions: [] }, [signer]);
    writeFileSync(join(copy, 'checkpoint'), note);
    const r = await erst(['log', 'verify', copy, '--log-key', vkey]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/^erst: error ERR_CHECKPOINT_ORIGIN_MISMATCH: /);
  });

  it('bad usage: no --log-key (ERR_USAGE), a key that is not a verifier key (ERR_VERIFIER_KEY_INVALID): exit 2', async () => {
    const none = await erst(['log', 'verify', log]);
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/^erst: error ERR_USAGE: --log-key is required/);
    const bad = await erst(['log', 'verify', log, '--log-key', 'nonsense']);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^erst: error ERR_VERIFIER_KEY_INVALID: /);
  });

  describe('over HTTP', () => {
    let server: Server;
    let base: string;
    beforeAll(async () => {
      // A static file server on 127.0.0.1, started and stopped by this test.
      server = createServer((req, res) => {
        const path = normalize(join(dir, decodeURIComponent(new URL(req.url!, 'http://x').pathname)));
        try {
          if (!path.startsWith(dir + sep)) throw new Error('outside');
          const body = readFileSync(path);
          res.writeHead(200, { 'content-length': body.length }).end(body);
        } catch {
          res.writeHead(404).end();
        }
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
    });
    afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

    it('verifies the same as the directory; a damaged tile the same way', async () => {
      const fromDir = await ok(['log', 'verify', log, '--log-key', vkey, '--since', saved6]);
      const fromHttp = await ok(['log', 'verify', `${base}/log`, '--log-key', vkey, '--since', saved6]);
      expect(fromHttp).toBe(fromDir);
      const copy = copyLog('http-damaged');
      truncateSync(onlyTile(copy, '0'), 64);
      const r = await erst(['log', 'verify', `${base}/http-damaged`, '--log-key', vkey]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(/^erst: error ERR_TLOG_TILE_INVALID: /);
    });
  });
});

describe('erst audit verify --log-key', () => {
  let record: string;
  beforeAll(() => {
    record = join(dir, 'record-2.json');
    writeFileSync(record, records[2]!);
  });

  it('the result line names origin, index and tree size; --json carries the log object', async () => {
    const out = await ok(['audit', 'verify', record, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--log-key', vkey]);
    expect(out).toMatch(
      new RegExp(`^ok   .*record-2\\.json: VALID \\(.*trust pinned, log ${ORIGIN} index 2 of 6\\)$`, 'm'),
    );
    const json = JSON.parse(
      await ok(['audit', 'verify', record, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--log-key', vkey, '--json']),
    ) as { results: { log: unknown }[] };
    expect(json.results[0]!.log).toEqual({
      origin: ORIGIN,
      index: 2,
      tree_size: 6,
      key: 'log-key',
      verified: true,
      timestamp: null,
    });
  });

  it('log_keys in a trust file work as --log-key does', async () => {
    const trust = join(dir, 'trust.json');
    writeFileSync(trust, JSON.stringify({ keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX }], log_keys: [vkey] }));
    const json = JSON.parse(await ok(['audit', 'verify', record, '--trust', trust, '--json'])) as {
      results: { valid: boolean; trust: string; log: { key: string } }[];
    };
    expect(json.results[0]).toMatchObject({ valid: true, trust: 'pinned', log: { key: 'log-key', verified: true } });
  });

  it('a log key that did not sign the checkpoint fails the record (exit 1); a bad one in a trust file is exit 2', async () => {
    const r = await erst([
      'audit',
      'verify',
      record,
      '--public-key',
      SIGNING_PUBLIC_KEY_HEX,
      '--log-key',
      strangerVkey,
    ]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('error ERR_NOTE_UNVERIFIED');
    const trust = join(dir, 'bad-trust.json');
    writeFileSync(trust, JSON.stringify({ log_keys: ['not+a+key'] }));
    const bad = await erst(['audit', 'verify', record, '--trust', trust]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/ERR_TRUST_FILE_INVALID: trust file: log_keys\[0\] is not a verifier key/);
    expect(bad.stderr).not.toContain('not+a+key');
  });
});
