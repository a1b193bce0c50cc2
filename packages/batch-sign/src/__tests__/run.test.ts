import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type Signer, isErstError } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, rejectionCode } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { initSignerLog, journalPath, runSignBatch, signOne } from '../index.js';
import { scratchDirs } from './helpers.js';

const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
const scratch = scratchDirs('erst-batch-run-');

const input = (i: number) => ({
  transactionHash: i.toString(16).padStart(64, '0'),
  payload: { envelope_xdr: 'AAAA', result_meta_xdr: `r${i}`, events: [], logs: [] },
});

/** A signer that records whether it was closed. */
function tracked(): { signer: Signer; closed: () => boolean } {
  const inner = InMemorySigner.fromPem(SIGNING_KEY_PEM);
  let closed = false;
  const signer: Signer = {
    algorithm: inner.algorithm,
    publicKey: () => inner.publicKey(),
    sign: (d) => inner.sign(d),
    close: async () => {
      closed = true;
    },
  };
  return { signer, closed: () => closed };
}

describe('signOne', () => {
  it('signs one record that verifies under the key; with a log, at the next index with its proof', async () => {
    const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
    const { record, logged } = await signOne(signer, input(1), { schema: '2.0.0' });
    expect(logged).toBeUndefined();
    expect((await verifier.verify(JSON.stringify(record))).valid).toBe(true);

    const dir = scratch();
    const { log } = await initSignerLog(join(dir, 'log'), signer, { origin: 'example.com/run-test' });
    await log.close();
    const a = await signOne(signer, input(2), { schema: '2.1.0', log: join(dir, 'log') });
    const b = await signOne(signer, input(3), { schema: '2.1.0', log: join(dir, 'log'), recordSignature: false });
    expect([a.logged, b.logged]).toEqual([
      { origin: 'example.com/run-test', index: 0 },
      { origin: 'example.com/run-test', index: 1 },
    ]);
    expect(b.record).not.toHaveProperty('signature');
    expect((b.record as { log_proof?: string }).log_proof).toMatch(/^c2sp\.org\/tlog-proof@v1\nindex 1\n/);
    expect((await verifier.verify(JSON.stringify(a.record))).valid).toBe(true);
  });

  it('refuses options it cannot honour, naming them, before signing anything', async () => {
    const { signer } = tracked();
    expect(await rejectionCode(() => signOne(signer, input(1), { schema: '2.0.0', log: scratch() }))).toBe(
      'ERR_OPTIONS_INVALID',
    );
    expect(await rejectionCode(() => signOne(signer, input(1), { schema: '2.1.0', recordSignature: false }))).toBe(
      'ERR_OPTIONS_INVALID',
    );
  });

  it("turns a driver's own exception into ERR_SIGNER_FAILED, never a bare crash", async () => {
    const broken: Signer = {
      algorithm: 'ed25519',
      publicKey: () => InMemorySigner.fromPem(SIGNING_KEY_PEM).publicKey(),
      sign: async () => {
        throw new TypeError('the driver fell over');
      },
    };
    expect(await rejectionCode(() => signOne(broken, input(1), { schema: '2.0.0' }))).toBe('ERR_SIGNER_FAILED');
  });
});

describe('runSignBatch', () => {
  it('opens the input, then the signer; signs every line; closes the signer', async () => {
    const dir = scratch();
    const lines = join(dir, 'in.jsonl');
    writeFileSync(
      lines,
      [1, 2, 3]
        .map((i) => JSON.stringify({ transaction_hash: input(i).transactionHash, payload: input(i).payload }))
        .join('\n'),
    );
    const { signer, closed } = tracked();
    const out = join(dir, 'out.jsonl');
    const run = await runSignBatch({
      input: lines,
      openSigner: async () => signer,
      output: { jsonl: out },
      schema: '2.0.0',
    });
    expect(run.result.signed).toBe(3);
    expect(run.key).toBe(SIGNING_PUBLIC_KEY_HEX);
    expect(run.log).toBeUndefined();
    expect(closed()).toBe(true);
    const records = readFileSync(out, 'utf8').trimEnd().split('\n');
    for (const r of records) expect((await verifier.verify(r)).valid).toBe(true);
  });

  it('a missing input fails before the signer is opened', async () => {
    let opened = false;
    const openSigner = async () => {
      opened = true;
      return tracked().signer;
    };
    const missing = join(scratch(), 'nope.jsonl');
    const run = runSignBatch({ input: missing, openSigner, output: { jsonl: `${missing}.out` }, schema: '2.0.0' });
    expect(await rejectionCode(() => run)).toBe('ERR_FILE_NOT_FOUND');
    expect(opened).toBe(false);
  });

  it('refuses an output with a log journal when no log is given (ERR_OPTIONS_INVALID naming `log`)', async () => {
    const out = join(scratch(), 'out.jsonl');
    writeFileSync(journalPath(out), '');
    const openSigner = async () => tracked().signer;
    try {
      await runSignBatch({ input: out, openSigner, output: { jsonl: out }, schema: '2.0.0' });
      expect.unreachable();
    } catch (e) {
      expect(isErstError(e, 'ERR_OPTIONS_INVALID')).toBe(true);
      expect((e as { details?: { options?: string[] } }).details?.options).toEqual(['log']);
    }
  });
});
