import { createPrivateKey, createPublicKey, sign } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { bytesToBase64, bytesToHex, concatBytes, sha256, utf8Bytes } from '@erst/core';
import { run, runCli, tempDir } from '@erst/fixtures';
import { initLog, openLog, readLog } from '@erst/log-store';
import { formatVerifierKey, keyIdHex, noteSigner, noteVerifier, tilePath, tilesForSize } from '@erst/tlog';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Go's reference code (golang.org/x/mod/sumdb/note and sumdb/tlog, from which
 * the C2SP formats were written) checks our checkpoints, tiles and proofs,
 * and writes the same log byte for byte. Built offline from Debian's
 * /usr/share/gocode in GOPATH mode; nothing is skipped when Go is missing. Go
 * hashes each entry with tlog.RecordHash (SHA-256(0x00 || record)), so its
 * root and tiles agree with ours only if that is our RFC 6962 leaf hash.
 */
const GO_DIR = fileURLToPath(new URL('../go', import.meta.url));
const GO_ENV = { GO111MODULE: 'off', GOPATH: '/usr/share/gocode', GOFLAGS: '', GOTOOLCHAIN: 'local' };
const ORIGIN = 'interop.erst.example/log';

let binary: string;
beforeAll(async () => {
  binary = join(tempDir('erst-go-'), 'tlog-interop');
  const built = await run('go', ['build', '-o', binary, '.'], { cwd: GO_DIR, env: { ...process.env, ...GO_ENV } });
  expect(built.stderr).toBe('');
  expect(built.code).toBe(0);
}, 180_000);

// One fixed Ed25519 key, so that Go's signature (deterministic, RFC 8032) must equal ours.
const seed = new Uint8Array(32).fill(42);
const keys = (() => {
  // PKCS#8 for an Ed25519 seed: the fixed RFC 8410 prefix, then the 32 bytes.
  const pkcs8 = concatBytes(Buffer.from('302e020100300506032b657004220420', 'hex'), seed);
  const privateKey = createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' });
  const raw = Buffer.from(createPublicKey(privateKey).export({ format: 'jwk' }).x!, 'base64url');
  return { privateKey, publicKey: { algorithm: 'ed25519', raw } as const };
})();

const signer = noteSigner(ORIGIN, keys.publicKey, async (m) => sign(null, m, keys.privateKey));
const vkey = formatVerifierKey(ORIGIN, keys.publicKey);
const skey = `PRIVATE+KEY+${ORIGIN}+${keyIdHex(signer.keyId)}+${bytesToBase64(concatBytes(new Uint8Array([1]), seed))}`;
const entry = (i: number) => sha256(utf8Bytes(`interop record ${i}`));

describe('interop with Go sumdb/note and sumdb/tlog', () => {
  for (const sizes of [[1], [5, 256, 257], [300, 70_000]]) {
    it(`Go verifies a log checkpointed at sizes ${sizes.join(', ')}, its proofs, and writes it byte for byte`, {
      timeout: 180_000,
    }, async () => {
      const root = tempDir('erst-interop-');
      const dir = join(root, 'log');
      await (await initLog(dir, { origin: ORIGIN, signer })).close();
      const checkpoints: number[] = [0];
      for (const size of sizes) {
        const log = await openLog(dir, { origin: ORIGIN, signer });
        while (log.size < size) log.append(entry(log.size));
        await log.checkpoint();
        checkpoints.push(size);
        if (size === sizes.at(-1)) {
          mkdirSync(join(root, 'proofs'));
          mkdirSync(join(root, 'consistency'));
          for (const i of new Set([0, 1, Math.floor(size / 2), size - 1].filter((i) => i < size))) {
            writeFileSync(join(root, 'proofs', `${i}.tlog-proof`), log.proof(i));
          }
          for (const old of checkpoints.filter((s) => s > 0)) {
            const proof = log.consistencyProof(old);
            writeFileSync(join(root, 'consistency', String(old)), proof.map((h) => `${bytesToBase64(h)}\n`).join(''));
          }
        }
        await log.close();
      }
      const size = sizes.at(-1)!;

      const check = await run(binary, ['check', dir, vkey]);
      expect(check.stderr).toBe('');
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`ok checkpoint ${ORIGIN} ${size}\n`);
      expect(check.stdout).toContain('ok root\n');
      expect(check.stdout).toMatch(/ok proofs [1-4]\n/);
      expect(check.stdout).toContain(`ok consistency ${checkpoints.length - 1}\n`);

      // Go writes the same entries under the same key: every file of the final size is identical.
      const entries = join(root, 'entries');
      writeFileSync(entries, concatBytes(...Array.from({ length: size }, (_, i) => entry(i))));
      const goDir = join(root, 'go');
      const wrote = await run(binary, ['write', goDir, skey, ORIGIN, entries]);
      expect(wrote.stderr).toBe('');
      expect(wrote.code).toBe(0);
      for (const path of ['checkpoint', ...tilesForSize(size).map(tilePath)]) {
        expect(readFileSync(join(goDir, path)).equals(readFileSync(join(dir, path))), path).toBe(true);
      }
      // And our reader accepts the log Go wrote.
      const read = await readLog(goDir, { verifiers: noteVerifier(ORIGIN, keys.publicKey) });
      expect(read.checkpoint.size).toBe(size);
    });
  }

  it('Go checks the log_proof of records the erst CLI wrote with --batch --log', { timeout: 180_000 }, async () => {
    const root = tempDir('erst-interop-cli-');
    const dir = join(root, 'log');
    const keyFile = join(root, 'key.pem');
    const pkcs8 = concatBytes(Buffer.from('302e020100300506032b657004220420', 'hex'), seed);
    writeFileSync(
      keyFile,
      createPrivateKey({ key: Buffer.from(pkcs8), format: 'der', type: 'pkcs8' }).export({
        format: 'pem',
        type: 'pkcs8',
      }) as string,
      { mode: 0o600 },
    );
    const init = await runCli(['log', 'init', dir, '--origin', ORIGIN, '--key-file', keyFile]);
    expect(init.code, init.stderr).toBe(0);
    const input = join(root, 'payloads.jsonl');
    const txs = Array.from({ length: 300 }, (_, i) => (i + 1).toString(16).padStart(64, '0'));
    writeFileSync(
      input,
      txs
        .map(
          (t) =>
            `${JSON.stringify({ transaction_hash: t, payload: { envelope_xdr: 'AAAA', events: [], logs: [] } })}\n`,
        )
        .join(''),
    );
    const out = join(root, 'records.jsonl');
    const args = ['audit', 'sign', '--batch', input, '--out', out, '--key-file', keyFile, '--log', dir];
    const signed = await runCli([...args, '--no-record-signature', '--checkpoint-every', '200', '--quiet']);
    expect(signed.code, signed.stderr).toBe(0);

    // Each record's proof, as Go's check reads proofs; its entry must be the record's own trace_hash.
    const read = await readLog(dir, { verifiers: noteVerifier(ORIGIN, keys.publicKey) });
    mkdirSync(join(root, 'proofs'));
    const records = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, string>);
    for (const r of records) {
      const index = Number(/^index (\d+)$/m.exec(r.log_proof!)![1]);
      expect(bytesToHex(read.entries[index]!)).toBe(r.trace_hash);
      writeFileSync(join(root, 'proofs', `${index}.tlog-proof`), r.log_proof!);
    }
    const check = await run(binary, ['check', dir, vkey]);
    expect(check.stderr).toBe('');
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`ok checkpoint ${ORIGIN} 300\n`);
    expect(check.stdout).toContain('ok proofs 300\n');
  });
});
