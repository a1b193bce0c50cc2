import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  type AuditRecordV2_1,
  type JsonObject,
  generateWithSigner,
  hexToBytes,
  sha256,
  timestampImprint,
  utf8Bytes,
} from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { type TestTsa, closedTsaUrl, startTestTsa } from '@erst/test-tsa';
import { issueTsa, tsaCa } from '@erst/test-ca';
import { verifyTimestampToken } from '@erst/timestamp';
import { parseNote, parseTlogProof } from '@erst/tlog';
import { Verifier } from '@erst/verify';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  DEFAULT_TSA_CONCURRENCY,
  initSignerLog,
  journalPath,
  jsonlSink,
  logStage,
  openSignerLog,
  signBatch,
  signRecordToLog,
  tsaTimestamper,
} from '../index.js';
import { scratchDirs, tx } from './helpers.js';

const ORIGIN = 'tsa.example/log';
const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
let tsa: TestTsa;
let verifier: Verifier;

beforeAll(async () => {
  tsa = await startTestTsa();
  verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX], tsaRoots: [tsa.rootPem], requireTimestamp: true });
});
afterAll(() => tsa.close());
afterEach(() => tsa.behave({}));

const scratch = scratchDirs('erst-batch-tsa-');

function payloads(dir: string, n: number): string {
  const path = join(dir, 'payloads.jsonl');
  const lines = Array.from({ length: n }, (_, i) =>
    JSON.stringify({ transaction_hash: tx(i + 1), payload: { logs: [`line ${i + 1}`] } }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}
const records = (path: string): JsonObject[] =>
  existsSync(path)
    ? readFileSync(path, 'utf8')
        .split('\n')
        .filter((l) => l !== '')
        .map((l) => JSON.parse(l) as JsonObject)
    : [];

/** A fetch that counts the requests in flight at once, and the most there ever were. */
function gauge(): { fetch: typeof globalThis.fetch; most: () => number } {
  let now = 0;
  let most = 0;
  return {
    fetch: async (...args) => {
      most = Math.max(most, ++now);
      try {
        return await globalThis.fetch(...args);
      } finally {
        now--;
      }
    },
    most: () => most,
  };
}

describe('tsaTimestamper', () => {
  it.each([
    ['tsaUrl', { tsaUrl: 'ftp://127.0.0.1/' }],
    ['retries', { retries: 11 }],
    ['timeoutMs', { timeoutMs: 0 }],
    ['tsaConcurrency', { tsaConcurrency: 0 }],
    ['tsaConcurrency', { tsaConcurrency: 65 }],
    ['tsaRoots', { tsaRoots: [] }],
  ] as const)('refuses a bad `%s` when it is made, before any request: ERR_OPTIONS_INVALID', async (option, bad) => {
    const before = tsa.requests;
    await expect(tsaTimestamper({ tsaUrl: tsa.url, ...bad })).rejects.toMatchObject({
      code: 'ERR_OPTIONS_INVALID',
      details: { options: [option] },
    });
    expect(tsa.requests).toBe(before);
  });

  it('stamps a record with a token over its trace_hash, placed before log_proof, that verifies', async () => {
    const t = await tsaTimestamper({ tsaUrl: tsa.url, tsaRoots: [tsa.rootPem] });
    const record = await generateWithSigner(signer, { transactionHash: tx(1), payload: {} }, { schema: '2.1.0' });
    const stamped = await t.stampRecord(record);
    expect(Object.keys(stamped).slice(-2)).toEqual(['signature', 'timestamp_token']);
    const token = Buffer.from(stamped.timestamp_token!, 'base64');
    const info = await verifyTimestampToken(token, { imprint: timestampImprint(record), tsaRoots: [tsa.rootPem] });
    expect(info.tsa).toContain('TSA');
    expect((await verifier.verify(JSON.stringify(stamped))).valid).toBe(true);
    expect(t.stats()).toEqual({ tokens: 1, failures: 0 });
  });

  it('with tsaRoots, a token from a TSA under another root is refused before it is handed back', async () => {
    const other = await startTestTsa({ credentials: await issueTsa(await tsaCa()) });
    try {
      const t = await tsaTimestamper({ tsaUrl: other.url, tsaRoots: [tsa.rootPem] });
      const record = await generateWithSigner(signer, { transactionHash: tx(2), payload: {} }, { schema: '2.1.0' });
      await expect(t.stampRecord(record)).rejects.toMatchObject({ code: 'ERR_TIMESTAMP_UNTRUSTED_ROOT' });
      expect(t.stats()).toEqual({ tokens: 0, failures: 1 });
    } finally {
      await other.close();
    }
  });

  it('a checkpoint token is over SHA-256 of the note text exactly', async () => {
    const t = await tsaTimestamper({ tsaUrl: tsa.url });
    const text = `${ORIGIN}\n1\n${Buffer.alloc(32, 7).toString('base64')}\n`;
    const token = await t.checkpointToken(text);
    await expect(
      verifyTimestampToken(token, { imprint: sha256(utf8Bytes(text)), tsaRoots: [tsa.rootPem] }),
    ).resolves.toBeDefined();
    await expect(t.checkpointToken('no newline')).rejects.toMatchObject({ code: 'ERR_OPTIONS_INVALID' });
  });
});

describe('signBatch with a timestamper', () => {
  it(`keeps at most tsaConcurrency requests in flight (default ${DEFAULT_TSA_CONCURRENCY}); every record verifies with its token`, async () => {
    const dir = scratch();
    const out = join(dir, 'out.jsonl');
    const g = gauge();
    tsa.behave({ delayMs: 30 });
    const timestamper = await tsaTimestamper({ tsaUrl: tsa.url, tsaConcurrency: 3, fetch: g.fetch });
    const before = tsa.requests;
    const r = await signBatch({
      signer,
      input: payloads(dir, 24),
      output: jsonlSink(out),
      schema: '2.1.0',
      timestamper,
    });
    expect([r.signed, r.untimestamped, r.bad]).toEqual([24, 0, 0]);
    expect(tsa.requests - before).toBe(24);
    expect(g.most()).toBe(3);
    const written = records(out);
    expect(written).toHaveLength(24);
    for (const rec of written) expect((await verifier.verify(JSON.stringify(rec))).valid).toBe(true);
  });

  it('needs schema 2.1.0: ERR_OPTIONS_INVALID naming `schema`, nothing asked', async () => {
    const dir = scratch();
    const timestamper = await tsaTimestamper({ tsaUrl: tsa.url });
    await expect(
      signBatch({ signer, input: payloads(dir, 2), output: jsonlSink(join(dir, 'o.jsonl')), timestamper }),
    ).rejects.toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['schema'] } });
    expect(timestamper.stats().tokens).toBe(0);
  });

  it('TSA down: each line reported with ERR_TSA_UNREACHABLE, none written; a rerun with it up finishes exactly those', async () => {
    const dir = scratch();
    const out = join(dir, 'out.jsonl');
    const input = payloads(dir, 10);
    const first = await signBatch({
      signer,
      input: payloads(scratch(), 4),
      output: jsonlSink(out),
      schema: '2.1.0',
      timestamper: await tsaTimestamper({ tsaUrl: tsa.url }),
    });
    expect(first.signed).toBe(4);
    const reported: number[] = [];
    const down = await signBatch({
      signer,
      input,
      output: jsonlSink(out),
      schema: '2.1.0',
      timestamper: await tsaTimestamper({ tsaUrl: await closedTsaUrl(), retries: 0 }),
      onUntimestampedLine: (l) => reported.push(l.line),
    });
    expect([down.signed, down.skipped, down.untimestamped, down.bad]).toEqual([0, 4, 6, 0]);
    expect(down.untimestampedLines.map((l) => l.code)).toEqual(Array(6).fill('ERR_TSA_UNREACHABLE'));
    expect(reported.sort((a, b) => a - b)).toEqual([5, 6, 7, 8, 9, 10]);
    expect(records(out)).toHaveLength(4);

    const before = tsa.requests;
    const up = await signBatch({
      signer,
      input,
      output: jsonlSink(out),
      schema: '2.1.0',
      timestamper: await tsaTimestamper({ tsaUrl: tsa.url }),
    });
    expect([up.signed, up.skipped, up.untimestamped]).toEqual([6, 4, 0]);
    expect(tsa.requests - before).toBe(6);
    const written = records(out);
    expect(written.map((r) => r.transaction_hash).sort()).toEqual(Array.from({ length: 10 }, (_, i) => tx(i + 1)));
    for (const rec of written) expect((await verifier.verify(JSON.stringify(rec))).valid).toBe(true);
  });
});

describe('checkpoint timestamps (a log stage or one record into a log with a timestamper)', () => {
  /** The token in a record's proof `extra`, checked to be over SHA-256 of its checkpoint's note text. */
  async function extraOf(record: JsonObject): Promise<{ token: string; size: number }> {
    const proof = parseTlogProof(record.log_proof as string);
    expect(proof.extra).toBeDefined();
    const text = parseNote(proof.checkpoint).text;
    await verifyTimestampToken(proof.extra!, { imprint: sha256(utf8Bytes(text)), tsaRoots: [tsa.rootPem] });
    return { token: Buffer.from(proof.extra!).toString('base64'), size: Number(text.split('\n')[1]) };
  }

  it('one TSA request per checkpoint; every proof carries its checkpoint token in `extra`', async () => {
    const dir = scratch();
    const { log } = await initSignerLog(join(dir, 'log'), signer, { origin: ORIGIN });
    const out = join(dir, 'out.jsonl');
    const timestamper = await tsaTimestamper({ tsaUrl: tsa.url });
    const stage = logStage(log, { checkpointEvery: 10, timestamper });
    const before = tsa.requests;
    try {
      const r = await signBatch({ signer, input: payloads(dir, 35), output: jsonlSink(out), schema: '2.1.0', stage });
      expect(r.signed).toBe(35);
    } finally {
      await log.close();
    }
    const stats = stage.stats();
    expect(stats.timestamps).toBe(stats.checkpoints);
    expect(tsa.requests - before).toBe(stats.checkpoints);
    const extras = await Promise.all(records(out).map(extraOf));
    expect(new Set(extras.map((e) => e.token)).size).toBe(stats.checkpoints);
    // One token per checkpoint: records that share a checkpoint share its token.
    const bySize = new Map<number, Set<string>>();
    for (const e of extras) bySize.set(e.size, (bySize.get(e.size) ?? new Set()).add(e.token));
    for (const tokens of bySize.values()) expect(tokens.size).toBe(1);
    const plain = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
    for (const rec of records(out)) expect((await plain.verify(JSON.stringify(rec))).valid).toBe(true);
  });

  it('no checkpoint token: the batch stops with the TSA code, nothing is written; a rerun finishes from the journal', async () => {
    const dir = scratch();
    const logDir = join(dir, 'log');
    await (await initSignerLog(logDir, signer, { origin: ORIGIN })).log.close();
    const out = join(dir, 'out.jsonl');
    const input = payloads(dir, 12);
    tsa.behave({ answer: 'http-500' });
    let log = await openSignerLog(logDir, signer);
    try {
      const timestamper = await tsaTimestamper({ tsaUrl: tsa.url, retries: 1, backoffMs: 1 });
      await expect(
        signBatch({ signer, input, output: jsonlSink(out), schema: '2.1.0', stage: logStage(log, { timestamper }) }),
      ).rejects.toMatchObject({ code: 'ERR_TSA_HTTP_ERROR' });
    } finally {
      await log.close();
    }
    expect(records(out)).toHaveLength(0);
    expect(existsSync(journalPath(out))).toBe(true);

    tsa.behave({});
    log = await openSignerLog(logDir, signer);
    try {
      const stage = logStage(log, { timestamper: await tsaTimestamper({ tsaUrl: tsa.url }) });
      const r = await signBatch({ signer, input, output: jsonlSink(out), schema: '2.1.0', stage });
      expect([r.recovered, r.signed, r.skipped]).toEqual([12, 0, 12]);
    } finally {
      await log.close();
    }
    expect(existsSync(journalPath(out))).toBe(false);
    const written = records(out);
    expect(written).toHaveLength(12);
    for (const rec of written) await extraOf(rec);
  });

  it('signRecordToLog with a timestamper: the proof carries a token over its checkpoint', async () => {
    const dir = scratch();
    const { log } = await initSignerLog(join(dir, 'log'), signer, { origin: ORIGIN });
    try {
      const timestamper = await tsaTimestamper({ tsaUrl: tsa.url });
      const input = { transactionHash: tx(9), payload: { a: 1 } };
      const record = await signRecordToLog(log, signer, input, { recordSignature: false, timestamper });
      const { size } = await extraOf(record as unknown as JsonObject);
      expect(size).toBe(1);
      expect((record as AuditRecordV2_1).timestamp_token).toBeUndefined();
      expect(hexToBytes(record.trace_hash)).toHaveLength(32);
    } finally {
      await log.close();
    }
  });
});
