import {
  appendFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { type JsonObject, bytesToHex, publicKeyFromRaw } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { readLog } from '@erst/log-store';
import { InMemorySigner, generateKeyPair } from '@erst/signer-memory';
import { noteVerifier } from '@erst/tlog';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import {
  type LogStep,
  directorySink,
  initSignerLog,
  journalPath,
  jsonlSink,
  logStage,
  openSignerLog,
  signBatch,
  signRecordToLog,
} from '../index.js';
import { rejection, scratchDirs, tx, writePayloads, countingSigner } from './helpers.js';

const ORIGIN = 'batch.example/log';
const inner = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });

const scratch = scratchDirs('erst-log-stage-');

const payloads = (dir: string, n: number): string => writePayloads(dir, n);

async function newLog(dir: string): Promise<string> {
  const logDir = join(dir, 'log');
  const { log } = await initSignerLog(logDir, inner, { origin: ORIGIN });
  await log.close();
  return logDir;
}

/**
 * Every record of the output verifies pinned (through its log proof when it
 * has no signature), and the log holds each record's trace_hash exactly
 * once and nothing else.
 */
async function checkLogged(out: string, logDir: string, count: number): Promise<JsonObject[]> {
  const records = readFileSync(out, 'utf8')
    .trimEnd()
    .split('\n')
    .map((l) => JSON.parse(l) as JsonObject);
  for (const r of records) {
    const v = await verifier.verify(JSON.stringify(r));
    expect(v.valid, JSON.stringify(v.errors)).toBe(true);
    expect(v.trust).toBe('pinned');
    expect(v.log?.verified).toBe(true);
  }
  expect(records.map((r) => r.transaction_hash).sort()).toEqual(Array.from({ length: count }, (_, i) => tx(i + 1)));
  const key = publicKeyFromRaw(Buffer.from(SIGNING_PUBLIC_KEY_HEX, 'hex'), 'ed25519');
  const read = await readLog(logDir, { verifiers: noteVerifier(ORIGIN, key) });
  const entries = read.entries.map((e) => bytesToHex(e));
  expect(new Set(entries).size).toBe(entries.length);
  expect(entries.sort()).toEqual(records.map((r) => r.trace_hash as string).sort());
  return records;
}

describe('logStage', () => {
  it('logs a batch: records without signatures, one checkpoint per N, each proof valid; the journal is removed', async () => {
    const dir = scratch();
    const logDir = await newLog(dir);
    const out = join(dir, 'out.jsonl');
    const signer = countingSigner(inner);
    const log = await openSignerLog(logDir, signer);
    const stage = logStage(log, { checkpointEvery: 3 });
    const r = await signBatch({
      signer,
      input: payloads(dir, 10),
      output: jsonlSink(out),
      schema: '2.1.0',
      recordSignature: false,
      stage,
      concurrency: 4,
    });
    await log.close();
    expect(r).toMatchObject({ signed: 10, skipped: 0, bad: 0, recovered: 0 });
    // Exactly one signature per checkpoint: every 3 entries, then the rest.
    expect(stage.stats()).toEqual({
      appended: 10,
      checkpoints: 4,
      timestamps: 0,
      recordSignatures: 0,
      recovered: 0,
      size: 10,
    });
    expect(signer.count).toBe(4);
    const records = await checkLogged(out, logDir, 10);
    expect(records.every((rec) => rec.version === '2.1.0' && !('signature' in rec))).toBe(true);
    expect(existsSync(journalPath(out))).toBe(false);

    // A rerun accepts the records without signatures (their proofs verify under the key) and logs nothing.
    const again = await openSignerLog(logDir, signer);
    const stage2 = logStage(again);
    const r2 = await signBatch({
      signer,
      input: payloads(dir, 10),
      output: jsonlSink(out),
      schema: '2.1.0',
      recordSignature: false,
      stage: stage2,
    });
    await again.close();
    expect(r2).toMatchObject({ signed: 0, skipped: 10 });
    expect(stage2.stats()).toMatchObject({ appended: 0, checkpoints: 0 });
  });

  it('with record signatures, to a directory: one checkpoint for the batch, counted with the records', async () => {
    const dir = scratch();
    const logDir = await newLog(dir);
    const out = join(dir, 'records');
    const signer = countingSigner(inner);
    const log = await openSignerLog(logDir, signer);
    const stage = logStage(log);
    await signBatch({ signer, input: payloads(dir, 7), output: directorySink(out), schema: '2.1.0', stage });
    await log.close();
    expect(stage.stats()).toMatchObject({ appended: 7, checkpoints: 1, recordSignatures: 7 });
    expect(signer.count).toBe(8);
    expect(readdirSync(out).sort()).toEqual(Array.from({ length: 7 }, (_, i) => `${tx(i + 1)}.json`));
    for (const name of readdirSync(out)) {
      const v = await verifier.verify(readFileSync(join(out, name)));
      expect(v.valid && v.log?.verified && v.log.tree_size === 7).toBe(true);
    }
    expect(existsSync(journalPath(out))).toBe(false);
  });

  // A crash is simulated by failing at a step: the batch stops there, leaving
  // the journal, the log and the output as a killed process would (the CLI
  // tests kill real processes at the same steps).
  for (const [step, nth] of [
    ['journaled', 2],
    ['checkpointed', 2],
    ['released', 3],
    ['closing', 1],
  ] as [LogStep, number][]) {
    it(`a batch that stops after ${step} #${nth} is finished by a rerun: every input logged exactly once`, async () => {
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'out.jsonl');
      const input = payloads(dir, 40);
      let seen = 0;
      const log = await openSignerLog(logDir, inner);
      const crash = (s: LogStep) => {
        if (s === step && ++seen === nth) throw new Error(`crash after ${step}`);
      };
      await expect(
        signBatch({
          signer: inner,
          input,
          output: jsonlSink(out),
          schema: '2.1.0',
          recordSignature: false,
          stage: logStage(log, { checkpointEvery: 5, onStep: crash }),
          concurrency: 2,
        }),
      ).rejects.toThrow(`crash after ${step}`);
      await log.close();
      expect(existsSync(journalPath(out))).toBe(true);
      appendFileSync(journalPath(out), '{"version":"2.1.0","tim'); // a torn journal line: its group was never logged

      const again = await openSignerLog(logDir, inner);
      const stage = logStage(again, { checkpointEvery: 5 });
      const r = await signBatch({
        signer: inner,
        input,
        output: jsonlSink(out),
        schema: '2.1.0',
        recordSignature: false,
        stage,
      });
      await again.close();
      expect(r.bad).toBe(0);
      expect(r.signed + r.skipped).toBe(40);
      expect(stage.stats().recovered).toBeGreaterThan(0);
      await checkLogged(out, logDir, 40);
      expect(existsSync(journalPath(out))).toBe(false);
    });
  }

  it('refuses a journal of another log, or holding a record this key did not make, and logs nothing', async () => {
    const dir = scratch();
    const logDir = await newLog(dir);
    const out = join(dir, 'out.jsonl');
    writeFileSync(journalPath(out), `${JSON.stringify({ journal: 'erst-log-journal@v1', origin: 'other/log' })}\n`);
    const log = await openSignerLog(logDir, inner);
    const run = () =>
      signBatch({
        signer: inner,
        input: payloads(dir, 2),
        output: jsonlSink(out),
        schema: '2.1.0',
        stage: logStage(log),
      });
    expect((await rejection(run())).code).toBe('ERR_OUTPUT_WRITE');

    const other = generateKeyPair().signer;
    const { generateWithSigner } = await import('@erst/core');
    const foreign = await generateWithSigner(
      other,
      { transactionHash: tx(1), payload: { envelope_xdr: 'AAAA' } },
      {
        schema: '2.1.0',
      },
    );
    writeFileSync(
      journalPath(out),
      `${JSON.stringify({ journal: 'erst-log-journal@v1', origin: ORIGIN })}\n${JSON.stringify(foreign)}\n`,
    );
    expect((await rejection(run())).code).toBe('ERR_OUTPUT_WRITE');
    expect(log.size).toBe(0);
    // A journal that cannot be a file, or cannot be written: an output failure naming it, not a crash.
    rmSync(journalPath(out));
    mkdirSync(journalPath(out));
    expect((await rejection(run())).details?.file).toBe(journalPath(out));
    rmSync(journalPath(out), { recursive: true });
    symlinkSync(join(dir, 'missing', 'journal'), journalPath(out));
    const unwritable = await rejection(run());
    expect([unwritable.code, unwritable.details?.file]).toEqual(['ERR_OUTPUT_WRITE', journalPath(out)]);
    expect(log.size).toBe(0);
    await log.close();
    await other.close?.();
  });

  it('checks its options', async () => {
    const dir = scratch();
    const log = await openSignerLog(await newLog(dir), inner);
    for (const checkpointEvery of [0, 1.5, -1]) {
      const e = await rejection((async () => logStage(log, { checkpointEvery }))());
      expect([e.code, e.details?.options]).toEqual(['ERR_OPTIONS_INVALID', ['checkpointEvery']]);
    }
    await log.close();
    // A record without a signature is sealed by nothing unless a stage gives it a proof.
    const e = await rejection(
      signBatch({
        signer: inner,
        input: payloads(dir, 1),
        output: jsonlSink(join(dir, 'o.jsonl')),
        schema: '2.1.0',
        recordSignature: false,
      }),
    );
    expect([e.code, e.details?.options]).toEqual(['ERR_OPTIONS_INVALID', ['recordSignature']]);
  });
});

describe('initSignerLog, openSignerLog, signRecordToLog', () => {
  it('init is idempotent for the same log; another origin is ERR_LOG_EXISTS; a bad origin names `origin`', async () => {
    const dir = join(scratch(), 'log');
    const first = await initSignerLog(dir, inner, { origin: ORIGIN });
    expect(first.created).toBe(true);
    expect(first.log.signedCheckpoint.size).toBe(0);
    await first.log.close();
    const second = await initSignerLog(dir, inner, { origin: ORIGIN });
    expect(second.created).toBe(false);
    await second.log.close();
    expect((await rejection(initSignerLog(dir, inner, { origin: 'other.example/log' }))).code).toBe('ERR_LOG_EXISTS');
    const other = generateKeyPair().signer;
    expect((await rejection(initSignerLog(dir, other, { origin: ORIGIN }))).code).toBe('ERR_LOG_EXISTS');
    // Another key's log is not opened for appending.
    expect((await rejection(openSignerLog(dir, other))).code).toBe('ERR_NOTE_UNVERIFIED');
    await other.close?.();
    const bad = await rejection(initSignerLog(join(scratch(), 'log'), inner, { origin: 'has space' }));
    expect([bad.code, bad.details?.options]).toEqual(['ERR_OPTIONS_INVALID', ['origin']]);
    expect((await rejection(openSignerLog(scratch(), inner))).code).toBe('ERR_FILE_NOT_FOUND');
  });

  it('signs one record into the log, with or without its own signature; each verifies pinned', async () => {
    const dir = await newLog(scratch());
    const log = await openSignerLog(dir, inner);
    const a = await signRecordToLog(log, inner, { transactionHash: tx(1), payload: { envelope_xdr: 'AAAA' } });
    const b = await signRecordToLog(
      log,
      inner,
      { transactionHash: tx(2), payload: { envelope_xdr: 'AAAA' } },
      { recordSignature: false },
    );
    await log.close();
    expect(typeof a.signature).toBe('string');
    expect(b.signature).toBeUndefined();
    for (const [rec, index] of [
      [a, 0],
      [b, 1],
    ] as const) {
      const v = await verifier.verify(JSON.stringify(rec));
      expect([v.valid, v.trust, v.log?.index, v.log?.tree_size]).toEqual([true, 'pinned', index, index + 1]);
    }
  });
});
