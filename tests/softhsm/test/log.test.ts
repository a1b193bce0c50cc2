import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { initSignerLog, jsonlSink, logStage, signBatch } from '@erst/batch-sign';
import { bytesToHex } from '@erst/core';
import { runCli } from '@erst/fixtures';
import { readLog } from '@erst/log-store';
import { generateTokenKeyPair, openPkcs11Signer } from '@erst/signer-pkcs11';
import { openCheckpoint, parseVerifierKey } from '@erst/tlog';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { createSoftHsm } from './softhsm.js';

const hsm = createSoftHsm('log-token');
const base = { module: hsm.module, tokenLabel: hsm.label, pin: hsm.pin };
await generateTokenKeyPair({ ...base, label: 'log-ed', algorithm: 'ed25519' });
await generateTokenKeyPair({ ...base, label: 'log-ec', algorithm: 'ecdsa-p256' });
const work = join(hsm.dir, 'work');
mkdirSync(work);
const ORIGIN = 'hsm.example/log';
const COUNT = 2000;

const erst = (args: string[]) => runCli(args, { env: hsm.env, cwd: work });
const token = (label: string) => ['--hsm-provider', 'pkcs11', '--key-label', label];

/** `count` batch input lines with distinct transaction hashes. */
function writeBatch(path: string, count: number): string[] {
  const txs = Array.from({ length: count }, (_, i) => (i + 1).toString(16).padStart(64, '0'));
  const lines = txs.map((tx, i) =>
    JSON.stringify({
      transaction_hash: tx,
      payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'AAAA', events: [`event ${i}`], logs: [] },
    }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return txs;
}

async function initLog(label: string, name: string): Promise<{ dir: string; vkey: string }> {
  const dir = join(work, name);
  const init = await erst(['log', 'init', dir, '--origin', ORIGIN, ...token(label)]);
  expect(init.code, init.stderr).toBe(0);
  const key = await erst(['log', 'verifier-key', '--origin', ORIGIN, ...token(label)]);
  expect([key.code, key.stderr]).toEqual([0, '']);
  const vkey = key.stdout.trimEnd();
  expect(vkey.split('\n')).toHaveLength(1);
  // The printed verifier key verifies the checkpoint the token signed at init.
  const checkpoint = openCheckpoint(readFileSync(join(dir, 'checkpoint')), parseVerifierKey(vkey));
  expect([checkpoint.origin, checkpoint.size]).toEqual([ORIGIN, 0]);
  return { dir, vkey };
}

describe('erst log and audit sign --log on a SoftHSM token', () => {
  it(`a ${COUNT.toLocaleString('en-US')}-record batch without record signatures, a checkpoint every 500: exactly 4 token signatures`, async () => {
    const { dir, vkey } = await initLog('log-ed', 'log-ed');
    const input = join(work, 'batch.jsonl');
    const txs = writeBatch(input, COUNT);
    const out = join(work, 'records.jsonl');
    const r = await erst([
      'audit',
      'sign',
      '--batch',
      input,
      '--out',
      out,
      '--log',
      dir,
      '--no-record-signature',
      '--checkpoint-every',
      '500',
      ...token('log-ed'),
    ]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/2,000 records, 4 checkpoints, 4 token signatures\n$/);

    const pub = (await erst(['keys', 'public', ...token('log-ed')])).stdout.trim();
    const verifier = new Verifier({ publicKeys: [pub] });
    const records = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(records).toHaveLength(COUNT);
    const hashes: string[] = [];
    const seen = new Set<string>();
    for (const line of records) {
      const v = await verifier.verify(line);
      expect(v.valid, JSON.stringify(v.errors)).toBe(true);
      expect([v.format, v.trust, v.log?.verified]).toEqual(['2.1.0', 'pinned', true]);
      expect(JSON.parse(line)).not.toHaveProperty('signature');
      seen.add(v.transaction_hash!);
      hashes.push(JSON.parse(line).trace_hash);
    }
    expect([...seen].sort()).toEqual(txs);
    const log = await readLog(dir, { verifiers: parseVerifierKey(vkey) });
    expect(log.entries.map((e) => bytesToHex(e)).sort()).toEqual(hashes.sort());
  }, 300_000);

  it("the count is the token's own: Pkcs11Signer.stats().signatures grows by exactly the checkpoints signed", async () => {
    const signer = await openPkcs11Signer({ ...base, keyLabel: 'log-ed', threads: true });
    try {
      const { log } = await initSignerLog(join(work, 'log-stats'), signer, { origin: ORIGIN });
      const before = signer.stats().signatures;
      const input = join(work, 'stats.jsonl');
      writeBatch(input, COUNT);
      const stage = logStage(log, { checkpointEvery: 500 });
      const result = await signBatch({
        signer,
        input,
        output: jsonlSink(join(work, 'stats-records.jsonl')),
        schema: '2.1.0',
        recordSignature: false,
        stage,
      });
      await log.close();
      expect(result.signed).toBe(COUNT);
      expect(stage.stats()).toMatchObject({ checkpoints: 4, recordSignatures: 0, appended: COUNT });
      expect(signer.stats().signatures - before).toBe(4);
    } finally {
      await signer.close();
    }
  }, 300_000);

  it('an ECDSA P-256 token key logs single records (signed and not), each verifying pinned', async () => {
    const { dir } = await initLog('log-ec', 'log-ec');
    const doc = (i: number) =>
      JSON.stringify({ transaction_hash: `${i}`.repeat(64), payload: { envelope_xdr: 'AAAA', events: [], logs: [] } });
    const pub = (await erst(['keys', 'public', ...token('log-ec')])).stdout.trim();
    const verifier = new Verifier({ publicKeys: [pub] });
    for (const [i, extra] of [
      [1, []],
      [2, ['--no-record-signature']],
    ] as [number, string[]][]) {
      const r = await erst(['audit', 'sign', '--payload', doc(i), '--log', dir, ...extra, ...token('log-ec')]);
      expect(r.code, r.stderr).toBe(0);
      const v = await verifier.verify(r.stdout);
      expect(v.valid, JSON.stringify(v.errors)).toBe(true);
      expect([v.trust, v.log?.index, v.log?.tree_size]).toEqual(['pinned', i - 1, i]);
    }
  });
});
