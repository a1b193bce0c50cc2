import { appendFileSync, existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { type JsonObject, type Signer, generateWithSigner } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner, generateKeyPair } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it, vi } from 'vitest';
import {
  type BadLine,
  type BatchProgress,
  type BatchRecord,
  type GroupStage,
  type RecordSink,
  directorySink,
  jsonlSink,
  openBatchInput,
  signBatch,
  streamBatchInput,
} from '../index.js';
import { line, rejection, scratchDirs, tx, verifiedJsonl, writePayloads } from './helpers.js';

const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });

const scratch = scratchDirs('erst-batch-sign-');

/** A payloads file of `n` good lines (transactions 1..n), then `extra`. */
const payloads = (n: number, extra: string[] = []): string => writePayloads(scratch(), n, extra);

/** A sink that records each call it passes on, and fails if two groups are ever written at once. */
function watched(inner: RecordSink): RecordSink & { groups: number[]; commits: number } {
  let busy = false;
  const sink = {
    target: inner.target,
    groups: [] as number[],
    commits: 0,
    open: (c: Parameters<RecordSink['open']>[0]) => inner.open(c),
    previous: (t: string, p: JsonObject) => inner.previous(t, p),
    async write(group: readonly BatchRecord[]) {
      if (busy) throw new Error('two groups written at once');
      busy = true;
      sink.groups.push(group.length);
      await inner.write(group);
    },
    async commit() {
      sink.commits++;
      await inner.commit();
      busy = false;
    },
    close: () => inner.close(),
  };
  return sink;
}

describe('signBatch', () => {
  it('signs every line into a .jsonl, one write and one commit per group, never two groups at once', async () => {
    const out = join(scratch(), 'out.jsonl');
    const sink = watched(jsonlSink(out));
    const r = await signBatch({ signer, input: payloads(200), output: sink, concurrency: 32 });
    expect(r).toMatchObject({ lines: 200, signed: 200, skipped: 0, bad: 0, done: 200, stopped: false });
    expect((await verifiedJsonl(verifier, out)).sort()).toEqual(Array.from({ length: 200 }, (_, i) => tx(i + 1)));
    expect(sink.groups.reduce((a, b) => a + b, 0)).toBe(200);
    expect(sink.commits).toBe(sink.groups.length);
    // Group commit: records signed while a group is written share the next write.
    expect(sink.groups.length).toBeLessThan(200);
  });

  it('resumes a .jsonl: skips what verifies, cuts a torn last line, signs the rest', async () => {
    const input = payloads(10);
    const out = join(scratch(), 'out.jsonl');
    await signBatch({
      signer,
      input: streamBatchInput(Readable.from(readFileSync(input).subarray(0, 200))),
      output: jsonlSink(out),
    });
    const before = readFileSync(out, 'utf8').trimEnd().split('\n').length;
    expect(before).toBeGreaterThan(0);
    appendFileSync(out, '{"version":"2.0.0","tim');
    const r = await signBatch({ signer, input, output: jsonlSink(out) });
    expect(r).toMatchObject({ signed: 10 - before, skipped: before, bad: 0 });
    expect((await verifiedJsonl(verifier, out)).sort()).toEqual(Array.from({ length: 10 }, (_, i) => tx(i + 1)));
  });

  it('refuses a .jsonl output signed by another key (ERR_OUTPUT_WRITE naming the line), leaving it as it was', async () => {
    const input = payloads(3);
    const out = join(scratch(), 'out.jsonl');
    await signBatch({ signer: generateKeyPair().signer, input, output: jsonlSink(out) });
    const before = readFileSync(out);
    const e = await rejection(signBatch({ signer, input, output: jsonlSink(out) }));
    expect(e.code).toBe('ERR_OUTPUT_WRITE');
    expect(e.details).toMatchObject({ file: out, line: 1 });
    expect(readFileSync(out).equals(before)).toBe(true);
  });

  it('writes a directory, skips files that verify, reports one in the way as a bad line and leaves it', async () => {
    const dir = join(scratch(), 'out');
    mkdirSync(dir);
    writeFileSync(join(dir, `${tx(2)}.json`), '{"not": "a record"}');
    const first = await signBatch({ signer, input: payloads(1), output: directorySink(dir) });
    expect(first.signed).toBe(1);
    const bad: BadLine[] = [];
    const r = await signBatch({
      signer,
      input: payloads(3),
      output: directorySink(dir),
      onBadLine: (b) => bad.push(b),
    });
    expect(r).toMatchObject({ signed: 1, skipped: 1, bad: 1 });
    expect(bad.map((b) => [b.line, b.code])).toEqual([[2, 'ERR_OUTPUT_WRITE']]);
    expect(r.badLines).toEqual(bad);
    expect(readFileSync(join(dir, `${tx(2)}.json`), 'utf8')).toBe('{"not": "a record"}');
    expect(readdirSync(dir).sort()).toEqual([1, 2, 3].map((i) => `${tx(i)}.json`));
  });

  it('reports bad lines by number and code, and signs the others', async () => {
    const out = join(scratch(), 'out.jsonl');
    const input = payloads(2, ['{"transaction_hash": ', JSON.stringify({ payload: {} }), line(1)]);
    const r = await signBatch({ signer, input, output: jsonlSink(out) });
    expect(r.signed).toBe(2);
    expect(r.badLines.map((b) => [b.line, b.code])).toEqual([
      [3, 'ERR_JSON_SYNTAX'],
      [4, 'ERR_PAYLOAD_INVALID'],
      [5, 'ERR_PAYLOAD_INVALID'],
    ]);
  });

  it('reports progress with the input line count, and prints nothing itself', async () => {
    const seen: BatchProgress[] = [];
    const r = await signBatch({
      signer,
      input: payloads(20),
      output: jsonlSink(join(scratch(), 'out.jsonl')),
      onProgress: (p) => seen.push(p),
    });
    // The count runs beside the signing, so the total may arrive after the first lines are done.
    expect(seen.some((p) => p.total === 20)).toBe(true);
    expect(seen.every((p) => p.total === undefined || p.total === 20)).toBe(true);
    expect(seen.at(-1)).toMatchObject({ total: 20, done: 20 });
    expect(r.done).toBe(20);
  });

  it('never waits for the line count before signing: a count that never comes leaves the progress without a total', async () => {
    const file = await openBatchInput(payloads(12));
    const input = { ...file, countLines: () => new Promise<number | undefined>(() => {}) };
    const seen: BatchProgress[] = [];
    const r = await signBatch({
      signer,
      input,
      output: jsonlSink(join(scratch(), 'out.jsonl')),
      onProgress: (p) => seen.push(p),
    });
    expect(r.signed).toBe(12);
    expect(seen.at(-1)).toMatchObject({ done: 12 });
    expect(seen.every((p) => p.total === undefined)).toBe(true);
  });

  it('stops reading when its signal is aborted and says so; the records in flight are written', async () => {
    const out = join(scratch(), 'out.jsonl');
    const stop = new AbortController();
    const r = await signBatch({
      signer,
      input: payloads(50),
      output: jsonlSink(out),
      concurrency: 1,
      signal: stop.signal,
      onProgress: (p) => p.done === 5 && stop.abort(),
    });
    expect(r.stopped).toBe(true);
    expect(r.signed).toBe(6);
    expect(await verifiedJsonl(verifier, out)).toHaveLength(6);
  });

  it('a signer that throws stops the batch as ERR_SIGNER_FAILED', async () => {
    let n = 0;
    const failing: Signer = {
      algorithm: 'ed25519',
      publicKey: () => signer.publicKey(),
      sign: (d) => (++n > 3 ? Promise.reject(new Error('token removed')) : signer.sign(d)),
    };
    const out = join(scratch(), 'out.jsonl');
    const e = await rejection(
      signBatch({ signer: failing, input: payloads(100), output: jsonlSink(out), concurrency: 1 }),
    );
    expect(e.code).toBe('ERR_SIGNER_FAILED');
    expect(await verifiedJsonl(verifier, out)).toHaveLength(3);
  });

  it('refuses a bad option by name (ERR_OPTIONS_INVALID, details.options) before opening anything', async () => {
    const out = join(scratch(), 'out.jsonl');
    const input = payloads(1);
    for (const [options, name] of [
      [{ concurrency: 0 }, 'concurrency'],
      [{ concurrency: 1025 }, 'concurrency'],
      [{ concurrency: 1.5 }, 'concurrency'],
      [{ schema: '3.0.0' }, 'schema'],
      [{ output: undefined }, 'output'],
    ] as const) {
      const e = await rejection(signBatch({ signer, input, output: jsonlSink(out), ...options } as never));
      expect(e.code, name).toBe('ERR_OPTIONS_INVALID');
      expect(e.details?.options).toEqual([name]);
    }
    expect(existsSync(out)).toBe(false);
  });

  it('closes an input it was given, even when an option is refused', async () => {
    let closed = 0;
    const input = { ...streamBatchInput(Readable.from([])), close: async () => void closed++ };
    const e = await rejection(
      signBatch({ signer, input, output: jsonlSink(join(scratch(), 'o.jsonl')), schema: 'x' as never }),
    );
    expect(e.code).toBe('ERR_OPTIONS_INVALID');
    expect(closed).toBe(1);
    await signBatch({ signer, input, output: jsonlSink(join(scratch(), 'o.jsonl')) });
    expect(closed).toBe(2);
  });

  it('opens only a regular file as the input', async () => {
    const e = await rejection(openBatchInput(scratch()));
    expect(e.code).toBe('ERR_FILE_IS_DIRECTORY');
  });
});

describe('signBatch with a GroupStage (what a Merkle log plugs into)', () => {
  /** Holds records until `every` have come, as a log signing one checkpoint per `every` records would. */
  function holding(every: number): GroupStage & { held: number; released: number[]; log: string[] } {
    let held: BatchRecord[] = [];
    const stage = {
      held: 0,
      released: [] as number[],
      log: [] as string[],
      async accept(group: readonly BatchRecord[]) {
        held.push(...group);
        stage.held = Math.max(stage.held, held.length);
        if (held.length < every) return [];
        const out = held.map((r) => ({ ...r, record: { ...r.record } }));
        held = [];
        stage.released.push(out.length);
        for (const r of out) stage.log.push(r.transactionHash);
        return out;
      },
      async flush() {
        const out = held;
        held = [];
        stage.released.push(out.length);
        for (const r of out) stage.log.push(r.transactionHash);
        return out;
      },
    };
    return stage;
  }

  it('holds signed records until its step releases them, more than are in flight, and flushes the rest at the end', async () => {
    const out = join(scratch(), 'out.jsonl');
    const stage = holding(10);
    const sink = watched(jsonlSink(out));
    const r = await signBatch({ signer, input: payloads(25), output: sink, concurrency: 2, stage });
    expect(r.signed).toBe(25);
    expect(stage.held).toBeGreaterThan(2);
    expect(stage.released.reduce((a, b) => a + b, 0)).toBe(25);
    // Only what the stage released reached the output, in the order it released them.
    expect(sink.groups).toEqual(stage.released.filter((n) => n > 0));
    expect(await verifiedJsonl(verifier, out)).toEqual(stage.log);
  });

  it('builds records with buildRecord when given one', async () => {
    const out = join(scratch(), 'out');
    let built = 0;
    const r = await signBatch({
      signer,
      input: payloads(3),
      output: directorySink(out),
      buildRecord: async (doc) => {
        built++;
        return (await generateWithSigner(signer, doc, { schema: '1.1.0' })) as unknown as JsonObject;
      },
    });
    expect(r.signed).toBe(3);
    expect(built).toBe(3);
    for (const name of readdirSync(out)) {
      const v = await verifier.verify(readFileSync(join(out, name)));
      expect(v.format).toBe('1.1.0');
    }
  });
});

describe('jsonlSink', () => {
  it('writes a group larger than one string may hold in bounded slices, lines whole and in order', async () => {
    // A checkpoint can release every record of a large batch as one group: 50,000 records of 17 KB made
    // one 850 MB string, past V8's cap ("Invalid string length", exit 70). Slices of a few MiB keep it bounded.
    const out = join(scratch(), 'big.jsonl');
    const sink = jsonlSink(out);
    await sink.open({ verifier, concurrency: 1 });
    const big = 'x'.repeat(200_000);
    const group: BatchRecord[] = Array.from({ length: 60 }, (_, i) => ({
      line: i + 1,
      transactionHash: tx(i + 1),
      record: { n: i, big },
    }));
    const probe = await open(join(scratch(), 'probe'), 'w');
    const write = vi.spyOn(Object.getPrototypeOf(probe), 'write');
    await probe.close();
    try {
      await sink.write(group);
      await sink.commit();
    } finally {
      await sink.close();
    }
    const sizes = write.mock.calls.map((c) => (c[0] as Buffer).length);
    write.mockRestore();
    expect(sizes.length).toBeGreaterThan(1);
    expect(Math.max(...sizes)).toBeLessThan(8 * 1024 * 1024);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    expect(lines.map((l) => JSON.parse(l).n)).toEqual(group.map((_, i) => i));
  });
});
