import { existsSync, readFileSync, readdirSync, truncateSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AuditRecordV2_1, type JsonObject, type Signer, generateWithSigner, withLogProof } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
// The built package: its signing threads run dist/sign-worker.js, which only exists built.
import {
  type LogStageOptions,
  type LogStep,
  type SignBatchOptions,
  directorySink,
  initSignerLog,
  journalPath,
  jsonlSink,
  logStage,
  openSignerLog,
  signBatch,
} from '../../dist/index.js';
import { logProofTail } from '../log-stage.js';
import { TOKEN_ATTESTATION, countingSigner, rejection, scratchDirs, tx, writePayloads } from './helpers.js';

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

describe("logProofTail (how the log stage adds log_proof to a thread's line)", () => {
  const signer = inner;
  const payloads: JsonObject[] = [
    { envelope_xdr: 'AAAA', events: [], logs: [] },
    JSON.parse('{"__proto__":{"x":1},"constructor":"c","a":"\\u0000\\n\\"\\\\","é":"日本語 \\ud83d\\ude00"}'),
    { big: 9007199254740991, neg: -0.000001, e: 1e300, arr: [1, 'two', null, true, { z: 1, a: 2 }] },
    { ' spaced key ': ' spaced value ', 'signature"': 'x', nested: { trace_hash: 'not the record member' } },
    { log_proof: 'not the record member', timestamp_token: 'AAAA', x: { '"log_proof":': '"timestamp_token":' } },
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
        const slow = `${JSON.stringify(withLogProof(record, PROOF))}\n`;
        // What the stage does with a line a signing thread made (a 2.1.0 record with no late seal): its
        // bytes up to the closing `}`, then logProofTail, with no search for member names, so payloads that
        // mention log_proof or timestamp_token must give the same bytes too.
        const tail = logProofTail(JSON.stringify(PROOF));
        const released = Buffer.concat([encoded.subarray(0, encoded.length - 2), Buffer.from(tail)]);
        expect(released.toString('utf8')).toBe(slow);
      });
    }
  }
});

// Small inputs are signed on the calling thread (threads.minInputBytes); 0 makes them go to the threads.
for (const [where, minInputBytes] of [
  ['on signing threads', 0],
  ['on the calling thread (a small input)', undefined],
] as const) {
  describe(`logStage with threads, ${where} (no record signature)`, () => {
    /**
     * Signs `input` to `output` as 2.1.0 records through a log stage on the log at `logDir` (no record signature, on
     * two threads, unless `extra` says otherwise), then closes the log, whether the batch ended or failed.
     */
    async function signLogged(
      logDir: string,
      signer: Signer,
      input: string,
      output: SignBatchOptions['output'],
      stageOptions: LogStageOptions = {},
      extra: Partial<SignBatchOptions> = {},
    ) {
      const log = await openSignerLog(logDir, signer);
      const stage = logStage(log, stageOptions);
      try {
        const r = await signBatch({
          signer,
          input,
          output,
          schema: '2.1.0',
          recordSignature: false,
          stage,
          threads: { count: 2, minInputBytes },
          ...extra,
        });
        return { r, stage, log };
      } finally {
        await log.close();
      }
    }

    it('logs a batch from threads without a key: one token signature per checkpoint, every record verifies', async () => {
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'out.jsonl');
      const signer = countingSigner(inner);
      const input = writePayloads(dir, 130, ['not json', JSON.stringify({ transaction_hash: tx(3), payload: {} })]);
      const { r, stage } = await signLogged(logDir, signer, input, jsonlSink(out), { checkpointEvery: 50 });
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
      const attestation = TOKEN_ATTESTATION;
      const dir = scratch();
      const logDir = await newLog(dir);
      const out = join(dir, 'out.jsonl');
      const signer = countingSigner(inner, attestation);
      const { r, stage } = await signLogged(logDir, signer, writePayloads(dir, 20), jsonlSink(out), {
        checkpointEvery: 8,
      });
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
      const { stage } = await signLogged(logDir, inner, writePayloads(dir, 9), directorySink(out), undefined, {
        recordSignature: true,
        threads: { count: 2, key: inner.keyObject, minInputBytes },
      });
      expect(stage.stats()).toMatchObject({ appended: 9, checkpoints: 1, recordSignatures: 9 });
      const names = readdirSync(out).sort();
      expect(names).toHaveLength(9);
      for (const name of names) {
        const text = readFileSync(join(out, name), 'utf8');
        expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
        await verified([JSON.stringify(JSON.parse(text))]);
      }
    });

    // 1,300 records under one checkpoint of 1,200: more than a read-back batch's pieces (1,024) and, with
    // the 400 KB records, more than its bytes (4 MiB). Every 7: several checkpoints in each group a thread sends.
    for (const [count, every] of [
      [1300, 1200],
      [300, 7],
    ] as const) {
      it(`writes records read back from the journal exactly as JSON.stringify(withLogProof(...)) does (${count}, every ${every})`, async () => {
        const dir = scratch();
        const logDir = await newLog(dir);
        const out = join(dir, 'out.jsonl');
        // Payloads that mention the late seals, escapes, __proto__, odd numbers, non-Latin-1 text, and big ones.
        const payloads = [
          '{"log_proof":"x","timestamp_token":"AAAA","n":{"\\"log_proof\\":":1}}',
          '{"__proto__":{"x":1},"a":"\\u0000\\n\\"\\\\\\u2028","é":"日本語 \\ud83d\\ude00"}',
          '{"big":9007199254740991,"neg":-0,"e":1e300,"f":1.50,"arr":[1,"two",null,true,{"z":1,"a":2}]}',
          `{"blob":"${'x'.repeat(400_000)}","signature":"not one"}`,
        ];
        const input = join(dir, 'in.jsonl');
        const lines = Array.from({ length: count }, (_, i) => {
          const payload = i % 100 === 3 ? payloads[3] : payloads[i % 3];
          return `{"transaction_hash":"${tx(i + 1)}","payload":${payload}}`;
        });
        writeFileSync(input, `${lines.join('\n')}\n`);
        const { r } = await signLogged(logDir, inner, input, jsonlSink(out), { checkpointEvery: every });
        expect(r.badLines).toEqual([]);
        expect(r).toMatchObject({ signed: count, bad: 0 });
        const written = readFileSync(out, 'utf8').trimEnd().split('\n');
        await verified(written);
        for (const [i, text] of written.entries()) {
          const { log_proof: proof, ...record } = JSON.parse(text) as AuditRecordV2_1 & { log_proof: string };
          expect(text).toBe(JSON.stringify(withLogProof(record as AuditRecordV2_1, proof)));
          expect(record.transaction_hash).toBe(tx(i + 1));
          // Each proof is against the checkpoint that released it, not a later one.
          const [, index, size] = /\nindex (\d+)\n(?:[^\n]+\n)*\n[^\n]+\n(\d+)\n/.exec(proof)!;
          expect(Number(index)).toBe(i);
          expect(Number(size)).toBe(Math.min(count, every * Math.ceil((i + 1) / every)));
        }
      });
    }

    for (const [how, tamper] of [
      ['cut short', (path: string) => truncateSync(path, readFileSync(path).indexOf(0x0a) + 1)],
      [
        'with a line that no longer ends its record',
        (path: string) => {
          const bytes = readFileSync(path);
          bytes[bytes.lastIndexOf(0x0a) - 1] = 0x20;
          writeFileSync(path, bytes);
        },
      ],
    ] as const) {
      it(`a journal ${how} before its records are read back stops the batch (ERR_OUTPUT_WRITE), nothing written`, async () => {
        const dir = scratch();
        const logDir = await newLog(dir);
        const out = join(dir, 'out.jsonl');
        const run = signLogged(logDir, inner, writePayloads(dir, 20), jsonlSink(out), {
          onStep: (step) => {
            if (step === 'released') tamper(journalPath(out));
          },
        });
        expect((await rejection(run)).code).toBe('ERR_OUTPUT_WRITE');
        expect(readFileSync(out, 'utf8')).toBe('');
      });
    }

    for (const step of ['journaled', 'released'] as LogStep[]) {
      it(`a threaded batch that stops after ${step} is finished by a rerun: every input logged once`, async () => {
        const dir = scratch();
        const logDir = await newLog(dir);
        const out = join(dir, 'out.jsonl');
        const input = writePayloads(dir, 200);
        let seen = 0;
        const crash = (s: LogStep) => {
          if (s === step && ++seen === 2) throw new Error(`crash after ${step}`);
        };
        await expect(
          signLogged(logDir, inner, input, jsonlSink(out), { checkpointEvery: 30, onStep: crash }),
        ).rejects.toThrow(`crash after ${step}`);
        const { r, log: again } = await signLogged(logDir, inner, input, jsonlSink(out), { checkpointEvery: 30 });
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
