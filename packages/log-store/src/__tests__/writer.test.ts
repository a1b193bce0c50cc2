import { spawn } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir, rejectionCode } from '@erst/fixtures';
import type { Signer } from '@erst/core';
import { noteSignerFromSigner, noteVerifier, verifyTlogProof } from '@erst/tlog';
import { p256 } from '@noble/curves/nist.js';
import { describe, expect, it } from 'vitest';
import { LOCK_FILE, initLog, openLog, readLog, verifyLogConsistency } from '../index.js';
import { ORIGIN, entry, hex, key } from './helpers.js';

const code = rejectionCode;

const { signer, verifier } = key();

describe('LogWriter', () => {
  it('initialises an empty log with a signed checkpoint of size 0, once', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    expect(log.size).toBe(0);
    expect(readFileSync(join(dir, 'checkpoint'), 'utf8')).toMatch(
      /^erst\.example\/log\n0\n47DEQpj8HBSa\+\/TImW\+5JCeuQeRkm5NMpJWZG3hSuFU=\n\n— erst\.example\/log /,
    );
    await log.close();
    expect(await code(() => initLog(dir, { origin: ORIGIN, signer }))).toBe('ERR_LOG_EXISTS');
    expect((await readLog(dir, { verifiers: verifier })).entries).toEqual([]);
  });

  it('appends, checkpoints, and proves each entry; a reopen resumes; the log only grows', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    for (let i = 0; i < 300; i++) expect(log.append(entry(i))).toBe(i);
    const first = await log.checkpoint();
    expect(first.size).toBe(300);
    for (const i of [0, 255, 256, 299]) {
      expect(verifyTlogProof(log.proof(i), { entry: entry(i), verifiers: verifier, index: i }).size).toBe(300);
    }
    expect(await code(() => log.proof(300))).toBe('ERR_OPTIONS_INVALID');
    await log.close();

    const again = await openLog(dir, { origin: ORIGIN, signer });
    expect(again.size).toBe(300);
    expect(hex(again.entry(17))).toBe(hex(entry(17)));
    for (let i = 300; i < 700; i++) again.append(entry(i));
    const second = await again.checkpoint();
    await again.close();

    const read = await readLog(dir, { verifiers: verifier });
    expect(read.checkpoint.size).toBe(700);
    expect(read.entries.map(hex)).toEqual(Array.from({ length: 700 }, (_, i) => hex(entry(i))));
    expect(() => verifyLogConsistency(first, read)).not.toThrow();
    expect(hex(read.checkpoint.root)).toBe(hex(second.root));
    // Partial tiles of the earlier size stay for readers of the old checkpoint.
    expect(existsSync(join(dir, 'tile/0/001.p/44'))).toBe(true);
    expect(existsSync(join(dir, 'tile/entries/002.p/188'))).toBe(true);
  });

  it('prover keeps its checkpoint; jsonProver is exactly JSON.stringify of its proofs, for every index', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    const extras = [undefined, new Uint8Array(0), Uint8Array.of(0, 1, 0xfe, 0xff, 0x3e, 0x3f)];
    const earlier: { size: number; prove: (i: number) => string; text: string[] }[] = [];
    let n = 0;
    for (const size of [1, 2, 3, 5, 8, 63, 64, 65, 255, 256, 257, 300]) {
      while (n < size) log.append(entry(n++));
      await log.checkpoint();
      for (const extra of extras) {
        const options = extra ? { extra } : {};
        const prove = log.prover(options);
        const json = log.jsonProver(options);
        const text: string[] = [];
        for (let i = 0; i < size; i++) {
          const proof = prove(i);
          expect(proof).toBe(log.proof(i, options));
          expect(json(i)).toBe(JSON.stringify(proof));
          text.push(proof);
        }
        expect(await code(async () => json(size))).toBe('ERR_OPTIONS_INVALID');
        expect(await code(async () => json(-1))).toBe('ERR_OPTIONS_INVALID');
        earlier.push({ size, prove, text });
      }
    }
    // A prover made before later checkpoints still proves against its own.
    for (const { size, prove, text } of earlier) {
      for (const i of [0, size - 1]) {
        expect(prove(i)).toBe(text[i]);
        expect(verifyTlogProof(prove(i), { entry: entry(i), verifiers: verifier, index: i }).size).toBe(size);
      }
    }
    await log.close();
  });

  it('keeps a log signed by an ECDSA P-256 Signer (signed-note type 0x02)', async () => {
    const secret = new Uint8Array(32).fill(7);
    const ecdsa: Signer = {
      algorithm: 'ecdsa-p256',
      publicKey: async () => ({ algorithm: 'ecdsa-p256', raw: p256.getPublicKey(secret, false) }),
      sign: async (digest) => p256.sign(digest, secret, { prehash: false }),
    };
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer: await noteSignerFromSigner(ORIGIN, ecdsa) });
    log.append(entry(0));
    await log.checkpoint();
    await log.close();
    const read = await readLog(dir, { verifiers: noteVerifier(ORIGIN, await ecdsa.publicKey()) });
    expect(read.entries.map(hex)).toEqual([hex(entry(0))]);
  });

  it('refuses entries that are not 32 bytes, and a signer named other than the origin', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    expect(await code(() => log.append(new Uint8Array(31)))).toBe('ERR_OPTIONS_INVALID');
    await log.close();
    expect(await code(() => openLog(dir, { origin: 'other.example', signer }))).toBe('ERR_OPTIONS_INVALID');
  });

  it('reopening under another key fails: the checkpoint is not that key’s', async () => {
    const dir = tempDir('erst-log-');
    await (await initLog(dir, { origin: ORIGIN, signer })).close();
    expect(await code(() => openLog(dir, { origin: ORIGIN, signer: key(2).signer }))).toBe('ERR_NOTE_UNVERIFIED');
  });

  it('a second writer waits, then fails with ERR_LOG_LOCKED; a dead writer’s lock is taken over', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    const started = Date.now();
    expect(await code(() => openLog(dir, { origin: ORIGIN, signer, lockTimeoutMs: 300 }))).toBe('ERR_LOG_LOCKED');
    expect(Date.now() - started).toBeGreaterThanOrEqual(300);
    // Released while the second waits: the second gets in.
    const waiting = openLog(dir, { origin: ORIGIN, signer, lockTimeoutMs: 5_000 });
    setTimeout(() => void log.close(), 100);
    const second = await waiting;
    await second.close();

    // A lock left by a process that no longer runs.
    const dead = spawn(process.execPath, ['-e', '']);
    const pid = dead.pid!;
    await new Promise((r) => dead.on('exit', r));
    writeFileSync(join(dir, LOCK_FILE), `${pid}\n`);
    const third = await openLog(dir, { origin: ORIGIN, signer, lockTimeoutMs: 100 });
    expect(readFileSync(join(dir, LOCK_FILE), 'utf8')).toBe(`${process.pid}\n`);
    await third.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a lock naming our own pid that this process never took is stale (a killed process had the pid before)', async () => {
    // Pids repeat: in a container, a rerun after a crash often gets the killed writer's pid.
    const dir = tempDir('erst-log-');
    await (await initLog(dir, { origin: ORIGIN, signer })).close();
    writeFileSync(join(dir, LOCK_FILE), `${process.pid}\n`);
    const log = await openLog(dir, { origin: ORIGIN, signer, lockTimeoutMs: 100 });
    // A lock this process does hold still keeps a second writer of the same process out.
    expect(await code(() => openLog(dir, { origin: ORIGIN, signer, lockTimeoutMs: 100 }))).toBe('ERR_LOG_LOCKED');
    await log.close();
    expect(existsSync(join(dir, LOCK_FILE))).toBe(false);
  });

  it('a reopen after a crash ignores what was written beyond the checkpoint and rewrites it', async () => {
    const dir = tempDir('erst-log-');
    const log = await initLog(dir, { origin: ORIGIN, signer });
    for (let i = 0; i < 10; i++) log.append(entry(i));
    await log.checkpoint();
    await log.close();
    // What a writer killed after writing its tiles but before its checkpoint leaves behind.
    writeFileSync(join(dir, 'tile/entries/000.p/12'), 'partial garbage');
    writeFileSync(join(dir, 'tile/0/000.p/12'), 'x');
    const reopened = await openLog(dir, { origin: ORIGIN, signer });
    expect(reopened.size).toBe(10);
    reopened.append(entry(10, 'rerun'));
    reopened.append(entry(11, 'rerun'));
    await reopened.checkpoint();
    await reopened.close();
    const read = await readLog(dir, { verifiers: verifier });
    expect(read.entries.map(hex).slice(10)).toEqual([hex(entry(10, 'rerun')), hex(entry(11, 'rerun'))]);
  });
});

/**
 * A writer killed at arbitrary points (SIGKILL, no cleanup) leaves a log
 * whose checkpoint verifies with every tile it names, and that the next
 * writer reopens and extends.
 */
describe('crash safety', () => {
  const script = `
    import { noteSigner } from '@erst/tlog';
    import { ed25519 } from '@noble/curves/ed25519.js';
    import { createHash } from 'node:crypto';
    import { openLog } from '${new URL('../../dist/index.js', import.meta.url).pathname}';
    const seed = new Uint8Array(32).fill(1);
    const signer = noteSigner('${ORIGIN}', { algorithm: 'ed25519', raw: ed25519.getPublicKey(seed) }, async (m) => ed25519.sign(m, seed));
    const log = await openLog(process.argv[1], { origin: '${ORIGIN}', signer, lockTimeoutMs: 10000 });
    process.stdout.write('open\\n');
    for (let round = 0; ; round++) {
      for (let i = 0; i < 97; i++) log.append(createHash('sha256').update('record ' + log.size).digest());
      await log.checkpoint();
    }
  `;

  it('every kill leaves a valid log that reopens and grows', { timeout: 120_000 }, async () => {
    const dir = tempDir('erst-log-crash-');
    await (await initLog(dir, { origin: ORIGIN, signer })).close();
    let last = (await readLog(dir, { verifiers: verifier })).checkpoint;
    for (const delay of [5, 40, 90, 150, 230, 320]) {
      const child = spawn(process.execPath, ['--input-type=module', '-e', script, dir], {
        cwd: new URL('../..', import.meta.url).pathname,
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      await new Promise<void>((r) => child.stdout.once('data', () => r()));
      await new Promise((r) => setTimeout(r, delay));
      child.kill('SIGKILL');
      await new Promise((r) => child.on('exit', r));
      const read = await readLog(dir, { verifiers: verifier });
      expect(read.entries.map(hex)).toEqual(Array.from({ length: read.checkpoint.size }, (_, i) => hex(entry(i))));
      expect(() => verifyLogConsistency(last, read)).not.toThrow();
      last = read.checkpoint;
    }
    expect(last.size).toBeGreaterThan(0);
  });
});
