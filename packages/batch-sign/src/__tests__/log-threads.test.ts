import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AuditRecordV2_1,
  type HardwareAttestation,
  type JsonObject,
  generateWithSigner,
  withLogProof,
} from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
// The built package: its signing threads run dist/sign-worker.js, which only exists built.
import {
  type LogStep,
  directorySink,
  initSignerLog,
  journalPath,
  jsonlSink,
  logStage,
  openSignerLog,
  signBatch,
} from '../../dist/index.js';
import { lineWithLogProof } from '../log-stage.js';
import { scratchDirs, tx, writePayloads, countingSigner } from './helpers.js';

const ORIGIN = 'batch.example/log';
const inner = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
const scratch = scratchDirs('erst-log-threads-');

async function newLog(dir: string): Promise<string> {
  const logDir = join(dir, 'log');
  const { log } = await initSignerLog(logDir, inner, { origin: ORIGIN });
  await log.close();
  return logDir;
}

async function verified(lines: string[]): Promise<JsonObject[]> {
  const out: JsonObject[] = [];
  for (const l of lines) {
    const v = await verifier.verify(l);
    expect(v.valid, JSON.stringify(v.errors)).toBe(true);
    expect(v.log?.verified).toBe(true);
    out.push(JSON.parse(l) as JsonObject);
  }
  return out;
}

const PROOF = 'c2sp.org/tlog-proof@v1\nindex 3\nAAAA\n\nbatch.example/log\n4\nroot=\n\n— sig "quoted" \\ \u2028\n';

describe('lineWithLogProof (the log stage fast path)', () => {
  const signer = inner;
  const payloads: JsonObject[] = [
    { envelope_xdr: 'AAAA', events: [], logs: [] },
    JSON.parse('{"__proto__":{"x":1},"constructor":"c","a":"\\u0000\\n\\"\\\\","é":"日本語 \\ud83d\\ude00"}'),
    { big: 9007199254740991, neg: -0.000001, e: 1e300, arr: [1, 'two', null, true, { z: 1, a: 2 }] },
    { ' spaced key ': ' spaced value ', 'signature"': 'x', nested: { trace_hash: 'not the record member' } },
  ];
  for (const [i, payload] of payloads.entries()) {
    for (const recordSignature of [false, true]) {
      it(`is exactly JSON.stringify(withLogProof(record, proof)) (payload ${i}, record signature ${recordSignature})`, async () => {
        const record = await generateWithSigner(
          signer,
          { transactionHash: tx(i + 1), payload },
          { schema: '2.1.0', recordSignature },
        );
        const encoded = Buffer.from(`${JSON.stringify(record)}\n`);
        const fast = lineWithLogProof(encoded, PROOF);
        expect(fast).toBeDefined();
        const slow = `${JSON.stringify(withLogProof(record, PROOF))}\n`;
        expect(Buffer.from(fast!).toString('utf8')).toBe(slow);
        expect(encoded.toString()).toBe(`${JSON.stringify(record)}\n`); // the input is left as it was
        // In place, in room after the line (as the stage keeps it): the same bytes, in that memory.
        const arena = new Uint8Array(encoded.length + 4096);
        arena.set(encoded);
        const inPlace = lineWithLogProof(arena.subarray(0, encoded.length), PROOF, arena);
        expect(inPlace!.buffer).toBe(arena.buffer);
        expect(Buffer.from(inPlace!).toString('utf8')).toBe(slow);
        // Room too small, or elsewhere: a copy, still the same bytes.
        const small = arena.subarray(0, encoded.length + 10);
        expect(Buffer.from(lineWithLogProof(encoded, PROOF, small)!).toString('utf8')).toBe(slow);
        const tight = new Uint8Array(encoded.length + 40);
        tight.set(encoded);
        const copied = lineWithLogProof(tight.subarray(0, encoded.length), PROOF, tight);
        expect(copied!.buffer).not.toBe(tight.buffer);
        expect(Buffer.from(copied!).toString('utf8')).toBe(slow);
      });
    }
  }

  it('leaves to the slow path what it cannot show to be such a record', async () => {
    const record = await generateWithSigner(
      signer,
      { transactionHash: tx(1), payload: { a: 1 } },
      { schema: '2.1.0', recordSignature: false },
    );
    const line = (r: unknown, end = '\n') => Buffer.from(`${JSON.stringify(r)}${end}`);
    const proved = withLogProof(record, 'old proof');
    expect(lineWithLogProof(line(proved), PROOF)).toBeUndefined(); // a log_proof already there
    expect(lineWithLogProof(line({ ...record, timestamp_token: 'AAAA' }), PROOF)).toBeUndefined();
    // A payload that merely mentions a late seal's name is refused too (false positives only cost speed).
    const mentions = await generateWithSigner(
      signer,
      { transactionHash: tx(2), payload: { log_proof: 'x' } },
      { schema: '2.1.0', recordSignature: false },
    );
    expect(lineWithLogProof(line(mentions), PROOF)).toBeUndefined();
    expect(lineWithLogProof(line({ ...record, version: '2.0.0' }), PROOF)).toBeUndefined();
    expect(lineWithLogProof(line(record, ''), PROOF)).toBeUndefined(); // no newline
    expect(lineWithLogProof(Buffer.from(JSON.stringify(record, null, 2)), PROOF)).toBeUndefined();
    expect(lineWithLogProof(Buffer.alloc(0), PROOF)).toBeUndefined();
  });
});

// Small inputs are signed on the calling thread (threads.minInputBytes); 0 makes them go to the threads.
for (const [where, minInputBytes] of [
  ['on signing threads', 0],
  ['on the calling thread (a small input)', undefined],
] as const) {
  describe(`logStage with threads, ${where} (no record signature)`, () => {
    it('logs a batch from threads without a key: one token signature per checkpoint, every record verifies', async () => {
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'out.jsonl');
      const signer = countingSigner(inner);
      const log = await openSignerLog(logDir, signer);
      const stage = logStage(log, { checkpointEvery: 50 });
      const r = await signBatch({
        signer,
        input: writePayloads(dir, 130, ['not json', JSON.stringify({ transaction_hash: tx(3), payload: {} })]),
        output: jsonlSink(out),
        schema: '2.1.0',
        recordSignature: false,
        stage,
        threads: { count: 2, minInputBytes },
      });
      await log.close();
      expect(r).toMatchObject({ signed: 130, bad: 2, skipped: 0 });
      expect(stage.stats()).toMatchObject({ appended: 130, checkpoints: 3, recordSignatures: 0, size: 130 });
      expect(signer.count).toBe(3);
      const records = await verified(readFileSync(out, 'utf8').trimEnd().split('\n'));
      expect(records.map((x) => x.transaction_hash)).toEqual(Array.from({ length: 130 }, (_, i) => tx(i + 1)));
      // The members and their order are those the one-record path writes.
      const slow = withLogProof(
        await generateWithSigner(
          signer,
          { transactionHash: tx(1), payload: records[0]!.payload as JsonObject },
          {
            schema: '2.1.0',
            recordSignature: false,
          },
        ),
        'p',
      );
      expect(Object.keys(records[0]!)).toEqual(Object.keys(slow));
      expect(existsSync(journalPath(out))).toBe(false);
    });

    it("a token's attestation is in every record, exactly as the one-record path writes it", async () => {
      const attestation: HardwareAttestation = {
        certificates: null,
        token_info: 'SoftHSM "test" \\ token',
        key_non_exportable: true,
        retrieved_at: '2026-11-26T12:00:00Z',
        key_attributes: {
          local: true,
          sensitive: true,
          always_sensitive: true,
          extractable: false,
          never_extractable: true,
        },
      };
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'out.jsonl');
      const signer = countingSigner(inner, attestation);
      const log = await openSignerLog(logDir, signer);
      const stage = logStage(log, { checkpointEvery: 8 });
      const r = await signBatch({
        signer,
        input: writePayloads(dir, 20),
        output: jsonlSink(out),
        schema: '2.1.0',
        recordSignature: false,
        stage,
        threads: { count: 2, minInputBytes },
      });
      await log.close();
      expect(r).toMatchObject({ signed: 20, bad: 0 });
      expect(stage.stats()).toMatchObject({ appended: 20, checkpoints: 3, recordSignatures: 0 });
      expect(signer.count).toBe(3);
      const records = await verified(readFileSync(out, 'utf8').trimEnd().split('\n'));
      const slow = await generateWithSigner(
        signer,
        { transactionHash: tx(1), payload: records[0]!.payload as JsonObject },
        { schema: '2.1.0', recordSignature: false },
      );
      for (const record of records) {
        expect(record.hardware_attestation).toEqual(slow.hardware_attestation);
        expect(record.algorithm).toBe('ed25519');
      }
      expect(Object.keys(records[0]!)).toEqual(Object.keys(withLogProof(slow, 'p')));
    });

    it('with record signatures on threads with the key, to a directory (indented): counted, and each verifies', async () => {
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'records');
      const log = await openSignerLog(logDir, inner);
      const stage = logStage(log);
      await signBatch({
        signer: inner,
        input: writePayloads(dir, 9),
        output: directorySink(out),
        schema: '2.1.0',
        stage,
        threads: { count: 2, key: inner.keyObject, minInputBytes },
      });
      await log.close();
      expect(stage.stats()).toMatchObject({ appended: 9, checkpoints: 1, recordSignatures: 9 });
      const names = readdirSync(out).sort();
      expect(names).toHaveLength(9);
      for (const name of names) {
        const text = readFileSync(join(out, name), 'utf8');
        expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
        await verified([JSON.stringify(JSON.parse(text))]);
      }
    });

    for (const step of ['journaled', 'released'] as LogStep[]) {
      it(`a threaded batch that stops after ${step} is finished by a rerun: every input logged once`, async () => {
        const dir = scratch();
        const logDir = await newLog(dir);
        const out = join(dir, 'out.jsonl');
        const input = writePayloads(dir, 200);
        const log = await openSignerLog(logDir, inner);
        let seen = 0;
        const crash = (s: LogStep) => {
          if (s === step && ++seen === 2) throw new Error(`crash after ${step}`);
        };
        const options = {
          input,
          schema: '2.1.0',
          recordSignature: false,
          threads: { count: 2, minInputBytes },
        } as const;
        await expect(
          signBatch({
            ...options,
            signer: inner,
            output: jsonlSink(out),
            stage: logStage(log, { checkpointEvery: 30, onStep: crash }),
          }),
        ).rejects.toThrow(`crash after ${step}`);
        await log.close();
        const again = await openSignerLog(logDir, inner);
        const stage = logStage(again, { checkpointEvery: 30 });
        const r = await signBatch({ ...options, signer: inner, output: jsonlSink(out), stage });
        await again.close();
        expect(r.signed + r.skipped).toBe(200);
        const records = await verified(readFileSync(out, 'utf8').trimEnd().split('\n'));
        expect(records.map((x) => x.transaction_hash).sort()).toEqual(
          Array.from({ length: 200 }, (_, i) => tx(i + 1)).sort(),
        );
        const entries = new Set(records.map((x) => (x as unknown as AuditRecordV2_1).trace_hash));
        expect(entries.size).toBe(200);
        expect(again.size).toBe(200);
      });
    }
  });
}
