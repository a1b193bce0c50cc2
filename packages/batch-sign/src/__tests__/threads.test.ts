import { appendFileSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner, ThreadedSigner, generateKeyPair } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
// The built package: its signing threads run dist/sign-worker.js, which only exists built.
import { type BadLine, directorySink, jsonlSink, signBatch, streamBatchInput } from '../../dist/index.js';
import { line, rejection, scratchDirs, tx, verifiedJsonl, writePayloads } from './helpers.js';

const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });

const scratch = scratchDirs('erst-batch-threads-');

/** A payloads file of `n` good lines (transactions 1..n), then `extra`. */
const payloads = (n: number, extra: string[] = []): string => writePayloads(scratch(), n, extra);

// Each test runs on signing threads (any input starts them), and on the
// calling thread alone (these inputs are under the default minimum).
describe.each([
  ['on signing threads', { count: 2, key: signer.keyObject, minInputBytes: 0 }],
  ['on the calling thread (a small input)', { count: 2, key: signer.keyObject }],
])('signBatch with threads, %s', (_, threads) => {
  it('signs every line into a .jsonl, in input order, one compact record per line', async () => {
    const out = join(scratch(), 'out.jsonl');
    const r = await signBatch({ signer, input: payloads(300), output: jsonlSink(out), threads });
    expect(r).toMatchObject({ lines: 300, signed: 300, skipped: 0, bad: 0, done: 300, stopped: false });
    expect(await verifiedJsonl(verifier, out)).toEqual(Array.from({ length: 300 }, (_, i) => tx(i + 1)));
    for (const l of readFileSync(out, 'utf8').trimEnd().split('\n')) expect(JSON.stringify(JSON.parse(l))).toBe(l);
  });

  it('signs with a ThreadedSigner as well (its keyObject)', async () => {
    const threaded = await ThreadedSigner.from(signer);
    try {
      const out = join(scratch(), 'out.jsonl');
      const r = await signBatch({
        signer: threaded,
        input: payloads(20),
        output: jsonlSink(out),
        threads: { ...threads, count: 1, key: threaded.keyObject },
      });
      expect(r.signed).toBe(20);
      expect(await verifiedJsonl(verifier, out)).toHaveLength(20);
    } finally {
      await threaded.close();
    }
  });

  it('reports the same bad lines as signing on the signer, in input order (1.1.0, which checks payloads)', async () => {
    const extra = [
      '{"transaction_hash": ',
      JSON.stringify({ payload: {} }),
      line(1),
      JSON.stringify({ transaction_hash: tx(200), payload: { envelope_xdr: 7 } }),
      JSON.stringify({ transaction_hash: tx(2), payload: { envelope_xdr: 7 } }),
      line(201),
    ];
    const input = payloads(130, extra);
    const seen: BadLine[] = [];
    const withThreads = await signBatch({
      signer,
      input,
      output: jsonlSink(join(scratch(), 'a.jsonl')),
      schema: '1.1.0',
      threads,
      onBadLine: (b) => seen.push(b),
    });
    const without = await signBatch({ signer, input, output: jsonlSink(join(scratch(), 'b.jsonl')), schema: '1.1.0' });
    // Without threads a repeat is found as it is read, a payload once it is built: the order may differ.
    const inInputOrder = [...without.badLines].sort((a, b) => a.line - b.line);
    expect(withThreads.badLines).toEqual(inInputOrder);
    expect(seen).toEqual(inInputOrder);
    // Syntax, no hash, a repeat, a payload that cannot be signed, a repeat whose payload could not be either.
    expect(withThreads.badLines.map((b) => [b.line, b.code])).toEqual([
      [131, 'ERR_JSON_SYNTAX'],
      [132, 'ERR_PAYLOAD_INVALID'],
      [133, 'ERR_PAYLOAD_INVALID'],
      [134, 'ERR_PAYLOAD_INVALID'],
      [135, 'ERR_PAYLOAD_INVALID'],
    ]);
    expect(withThreads.badLines[4]!.message).toContain('repeats line 2');
    expect(withThreads).toMatchObject({ signed: 131, bad: 5, lines: 136, done: 136 });
  });

  it('reads adversarial lines as signing on the signer does (CRLF, blanks, escapes, __proto__, numbers, no last newline)', async () => {
    const doc = (i: number, payload: string) => `{"transaction_hash":"${tx(i)}","payload":${payload}}`;
    const extra = [
      `${line(1001)}\r`,
      '   ',
      '\t\r',
      '',
      `  ${line(1002)}\t `,
      doc(1003, '{"__proto__":{"x":1},"b":"\\u00e9\\n\\/","c":[1e2,-0.5,0]}'),
      doc(1004, '{"n":12345678901234567890}'),
      doc(1005, '{"a":1,"a":2}'),
      `{"payload":{"z":1,"a":[1,2,{"y":null}],"1":"x"},"transaction_hash":"${tx(1006)}"}`,
      doc(1007, '{"s":"\\ud800"}'),
      doc(1008, '{"t":"é\u2028"}'),
    ];
    const input = payloads(70, extra);
    appendFileSync(input, line(1009));
    const outputs = [join(scratch(), 'threads.jsonl'), join(scratch(), 'signer.jsonl')];
    const withThreads = await signBatch({ signer, input, output: jsonlSink(outputs[0]!), threads });
    const without = await signBatch({ signer, input, output: jsonlSink(outputs[1]!) });
    expect(withThreads.badLines).toEqual([...without.badLines].sort((a, b) => a.line - b.line));
    expect(withThreads).toMatchObject({ lines: without.lines, signed: without.signed, bad: without.bad });
    expect(withThreads).toMatchObject({ signed: 76, bad: 3 });
    // The same records, member for member, but for when and what signed them.
    const records = (path: string) =>
      readFileSync(path, 'utf8')
        .trimEnd()
        .split('\n')
        .map((l) => l.replace(/"timestamp":"[^"]*"|"trace_hash":"[0-9a-f]*"|"signature":"[0-9a-f]*"/g, ''))
        .sort();
    expect(records(outputs[0]!)).toEqual(records(outputs[1]!));
    expect(await verifiedJsonl(verifier, outputs[0]!)).toHaveLength(76);
  });

  it('resumes a .jsonl: skips what verifies, cuts a torn last line, signs the rest', async () => {
    const input = payloads(150);
    const out = join(scratch(), 'out.jsonl');
    await signBatch({
      signer,
      input: streamBatchInput(Readable.from(readFileSync(input).subarray(0, 5000))),
      output: jsonlSink(out),
      threads,
    });
    const before = readFileSync(out, 'utf8').trimEnd().split('\n').length;
    expect(before).toBeGreaterThan(0);
    appendFileSync(out, '{"version":"2.0.0","tim');
    const r = await signBatch({ signer, input, output: jsonlSink(out), threads });
    expect(r).toMatchObject({ signed: 150 - before, skipped: before, bad: 0 });
    expect((await verifiedJsonl(verifier, out)).sort()).toEqual(Array.from({ length: 150 }, (_, i) => tx(i + 1)));
  });

  it('writes a directory of indented records, skips files that verify, reports one in the way and leaves it', async () => {
    const dir = join(scratch(), 'out');
    mkdirSync(dir);
    writeFileSync(join(dir, `${tx(2)}.json`), '{"not": "a record"}');
    await signBatch({ signer, input: payloads(1), output: directorySink(dir), threads });
    const r = await signBatch({ signer, input: payloads(70), output: directorySink(dir), threads });
    expect(r).toMatchObject({ signed: 68, skipped: 1, bad: 1 });
    expect(r.badLines.map((b) => [b.line, b.code])).toEqual([[2, 'ERR_OUTPUT_WRITE']]);
    expect(readFileSync(join(dir, `${tx(2)}.json`), 'utf8')).toBe('{"not": "a record"}');
    expect(readdirSync(dir)).toHaveLength(70);
    const text = readFileSync(join(dir, `${tx(3)}.json`), 'utf8');
    expect(text).toBe(`${JSON.stringify(JSON.parse(text), null, 2)}\n`);
    expect((await verifier.verify(text)).valid).toBe(true);
  });

  it('stops reading when its signal is aborted; what was read is signed and written', async () => {
    const out = join(scratch(), 'out.jsonl');
    const stop = new AbortController();
    const r = await signBatch({
      signer,
      input: payloads(2000),
      output: jsonlSink(out),
      threads,
      signal: stop.signal,
      onProgress: (p) => p.done === 5 && stop.abort(),
    });
    expect(r.stopped).toBe(true);
    expect(r.signed).toBeLessThan(2000);
    expect(r.signed).toBe(r.done);
    expect(await verifiedJsonl(verifier, out)).toHaveLength(r.signed);
  });

  it('refuses a key that is not the signer’s, and threads with a stage or a record builder', async () => {
    const other = generateKeyPair().signer as InMemorySigner;
    const wrong = await rejection(
      signBatch({
        signer,
        input: payloads(2),
        output: jsonlSink(join(scratch(), 'x.jsonl')),
        threads: { count: 1, key: other.keyObject },
      }),
    );
    expect(wrong).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['threads'] } });
    const withBuilder = await rejection(
      signBatch({
        signer,
        input: payloads(2),
        output: jsonlSink(join(scratch(), 'y.jsonl')),
        threads,
        buildRecord: async () => ({}),
      }),
    );
    expect(withBuilder).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['threads'] } });
    const zero = await rejection(
      signBatch({
        signer,
        input: payloads(2),
        output: jsonlSink(join(scratch(), 'z.jsonl')),
        threads: { count: 0, key: signer.keyObject },
      }),
    );
    expect(zero.code).toBe('ERR_OPTIONS_INVALID');
  });
});
