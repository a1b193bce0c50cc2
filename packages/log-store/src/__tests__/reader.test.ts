import { execFileSync } from 'node:child_process';
import { cpSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { type Server, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { tempDir, rejectionCode } from '@erst/fixtures';
import { noteVerifier } from '@erst/tlog';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { initLog, readLog, verifyLogConsistency } from '../index.js';
import { ORIGIN, entry, hex, key } from './helpers.js';

const code = rejectionCode;

const { signer, verifier } = key();

async function makeLog(n: number, change?: number): Promise<string> {
  const dir = tempDir('erst-log-');
  const log = await initLog(dir, { origin: ORIGIN, signer });
  for (let i = 0; i < n; i++) log.append(entry(i, i === change ? 'changed' : ''));
  await log.checkpoint();
  await log.close();
  return dir;
}

/** A copy of the log to tamper with. */
function copy(dir: string): string {
  const to = tempDir('erst-log-tampered-');
  cpSync(dir, to, { recursive: true });
  return to;
}

let base: string;
beforeAll(async () => {
  base = await makeLog(600);
});

describe('readLog from a directory', () => {
  it("gives the thread's event loop turns while it reads (a directory's files are read synchronously)", async () => {
    const order: string[] = [];
    setImmediate(() => order.push('event loop'));
    await readLog(base, { verifiers: verifier }).then(() => order.push('log read'));
    expect(order).toEqual(['event loop', 'log read']);
  });

  it('reads every entry and checks every tile', async () => {
    const read = await readLog(base, { verifiers: verifier });
    expect(read.checkpoint.size).toBe(600);
    expect(read.entries.map(hex)).toEqual(Array.from({ length: 600 }, (_, i) => hex(entry(i))));
  });

  it('a FIFO or a link to one in place of the checkpoint, a tile or a bundle is refused at once, never read', async () => {
    // A reader that opened it would block forever (no writer ever comes): the attack issue's rule for every file read.
    for (const name of ['checkpoint', 'tile/0/000', 'tile/entries/000']) {
      const dir = copy(base);
      rmSync(join(dir, name));
      execFileSync('mkfifo', [join(dir, name)]);
      const started = Date.now();
      expect(await code(() => readLog(dir, { verifiers: verifier })), name).toBe('ERR_FILE_NOT_REGULAR');
      expect(Date.now() - started).toBeLessThan(5_000);
    }
    const dir = copy(base);
    execFileSync('mkfifo', [join(dir, 'fifo')]);
    rmSync(join(dir, 'checkpoint'));
    symlinkSync(join(dir, 'fifo'), join(dir, 'checkpoint'));
    expect(await code(() => readLog(dir, { verifiers: verifier }))).toBe('ERR_FILE_NOT_REGULAR');
  });

  it('each kind of damage fails with its own code', async () => {
    const cases: [string, (dir: string) => void, string][] = [
      [
        'truncated tile',
        (d) => writeFileSync(join(d, 'tile/0/001'), readFileSync(join(d, 'tile/0/001')).subarray(1)),
        'ERR_TLOG_TILE_INVALID',
      ],
      [
        'changed tile',
        (d) => {
          const t = readFileSync(join(d, 'tile/1/000.p/2'));
          t[0]! ^= 1;
          writeFileSync(join(d, 'tile/1/000.p/2'), t);
        },
        'ERR_TLOG_TILE_INVALID',
      ],
      ['missing tile', (d) => rmSync(join(d, 'tile/0/002.p/88')), 'ERR_TLOG_TILE_INVALID'],
      [
        'bundle of the wrong size',
        (d) => writeFileSync(join(d, 'tile/entries/000'), readFileSync(join(d, 'tile/entries/000')).subarray(34)),
        'ERR_TLOG_BUNDLE_INVALID',
      ],
      ['missing bundle', (d) => rmSync(join(d, 'tile/entries/001')), 'ERR_TLOG_BUNDLE_INVALID'],
      [
        'changed entry',
        (d) => {
          const b = readFileSync(join(d, 'tile/entries/001'));
          b[5]! ^= 1;
          writeFileSync(join(d, 'tile/entries/001'), b);
        },
        'ERR_TLOG_ROOT_MISMATCH',
      ],
      [
        'truncated checkpoint',
        (d) => writeFileSync(join(d, 'checkpoint'), readFileSync(join(d, 'checkpoint'), 'utf8').slice(0, 60)),
        'ERR_NOTE_MALFORMED',
      ],
    ];
    for (const [what, damage, want] of cases) {
      const dir = copy(base);
      damage(dir);
      expect(await code(() => readLog(dir, { verifiers: verifier })), what).toBe(want);
    }
  });

  it('a checkpoint under another key or for another origin is refused', async () => {
    expect(await code(() => readLog(base, { verifiers: key(2).verifier }))).toBe('ERR_NOTE_UNVERIFIED');
    expect(await code(() => readLog(base, { verifiers: verifier, origin: 'other.example' }))).toBe(
      'ERR_CHECKPOINT_ORIGIN_MISMATCH',
    );
    const renamed = noteVerifier('other.example', key().publicKey);
    expect(await code(() => readLog(base, { verifiers: renamed }))).toBe('ERR_NOTE_UNVERIFIED');
  });

  it('a history rewrite under the same key, or a rollback, fails the consistency check', async () => {
    const old = (await readLog(await makeLog(300), { verifiers: verifier })).checkpoint;
    const grown = await readLog(base, { verifiers: verifier });
    expect(() => verifyLogConsistency(old, grown)).not.toThrow();
    const rewritten = await readLog(await makeLog(600, 7), { verifiers: verifier });
    expect(await code(() => verifyLogConsistency(old, rewritten))).toBe('ERR_TLOG_CONSISTENCY_INVALID');
    const rolledBack = await readLog(await makeLog(200), { verifiers: verifier });
    expect(await code(() => verifyLogConsistency(old, rolledBack))).toBe('ERR_TLOG_CONSISTENCY_INVALID');
  });
});

describe('readLog over HTTP', () => {
  let server: Server;
  let url: string;
  const hits: string[] = [];
  beforeAll(async () => {
    server = createServer((req, res) => {
      const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
      hits.push(path);
      if (path === '/redirect-file/checkpoint') {
        res.writeHead(302, { location: 'file:///etc/passwd' }).end();
        return;
      }
      if (path.startsWith('/redirect/')) {
        res.writeHead(301, { location: path.replace('/redirect/', '/log/') }).end();
        return;
      }
      if (path === '/huge/checkpoint') {
        res.writeHead(200, { 'content-type': 'text/plain' });
        res.end('x'.repeat(300 * 1024));
        return;
      }
      if (path === '/slow/checkpoint') return; // never answers
      try {
        const data = readFileSync(join(base, path.replace(/^\/log\//, '')));
        res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(data);
      } catch {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => {
    server.closeAllConnections();
    server.close();
  });

  it('a log served by a static HTTP server verifies the same as the directory', async () => {
    const fromDir = await readLog(base, { verifiers: verifier });
    const fromHttp = await readLog(`${url}/log`, { verifiers: verifier });
    expect(fromHttp.checkpoint.note).toBe(fromDir.checkpoint.note);
    expect(fromHttp.entries.map(hex)).toEqual(fromDir.entries.map(hex));
    expect(hits).toContain('/log/tile/1/000.p/2');
    expect((await readLog(`${url}/redirect/`, { verifiers: verifier })).checkpoint.size).toBe(600);
  });

  it('refuses redirects to other schemes, oversize answers, missing logs and slow servers', async () => {
    expect(await code(() => readLog(`${url}/redirect-file`, { verifiers: verifier }))).toBe('ERR_LOG_FETCH_FAILED');
    expect(await code(() => readLog(`${url}/huge`, { verifiers: verifier }))).toBe('ERR_INPUT_TOO_LARGE');
    expect(await code(() => readLog(`${url}/nothing`, { verifiers: verifier }))).toBe('ERR_FILE_NOT_FOUND');
    expect(await code(() => readLog(`${url}/slow`, { verifiers: verifier, timeoutMs: 200 }))).toBe(
      'ERR_LOG_FETCH_FAILED',
    );
    expect(await code(() => readLog('ftp://127.0.0.1/log', { verifiers: verifier }))).toBe('ERR_OPTIONS_INVALID');
  });
});
