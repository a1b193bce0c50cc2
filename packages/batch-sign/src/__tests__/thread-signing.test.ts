import { appendFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { type SignInput, type WritableSchema, generateWithSigner } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { Verifier } from '@erst/verify';
import { describe, expect, it } from 'vitest';
// The built package: its signing threads run dist/sign-worker.js, which only exists built.
import { type ThreadSigning, jsonlSink, signBatch, streamBatchInput } from '../../dist/index.js';
import { lineDocument } from '../../dist/line-document.js';
import {
  TOKEN_ATTESTATION,
  countingSigner,
  line,
  rejection,
  scratchDirs,
  tx,
  verifiedJsonl,
  writePayloads,
} from './helpers.js';

const inner = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const verifier = new Verifier({ publicKeys: [SIGNING_PUBLIC_KEY_HEX] });
const scratch = scratchDirs('erst-batch-thread-signing-');

const attestation = TOKEN_ATTESTATION;

// What a token's thread signer is (see Pkcs11Signer.threadSigning), with a
// software key: a module each thread imports, signing synchronously. It
// fails, as a token's does, with an ErstError-shaped error once told to.
const THREAD_MODULE = `data:text/javascript,${encodeURIComponent(`
import { createPrivateKey, sign } from 'node:crypto';
export function openThreadSigner(d) {
  const key = createPrivateKey(d.pem);
  let left = d.failAfter ?? Infinity;
  return (digest) => {
    if (left-- <= 0) throw Object.assign(new Error('signing: the session to token "t" was lost (CKR_SESSION_HANDLE_INVALID)'), { name: 'ErstError', code: 'ERR_PKCS11_SESSION' });
    return new Uint8Array(sign(null, digest, key));
  };
}`)}`;

/** A token-like signer (no key object, an attestation) that also signs on threads, counting what it hands out and gets back. */
function threadSigningSigner(options: { failAfter?: number; none?: boolean } = {}) {
  const base = countingSigner(inner, attestation);
  const s = Object.assign(base, {
    asked: [] as number[],
    released: 0,
    async threadSigning(count: number): Promise<ThreadSigning | undefined> {
      s.asked.push(count);
      if (options.none) return undefined;
      return {
        module: THREAD_MODULE,
        data: Array.from({ length: count }, () => ({ pem: SIGNING_KEY_PEM, failAfter: options.failAfter })),
        release: async () => {
          s.released++;
        },
      };
    },
  });
  return s;
}

/**
 * The record the one-record path writes for this output line's document, at
 * the line's own timestamp: Ed25519 is deterministic, so the bytes must be
 * the line's, exactly.
 */
async function slowLine(out: string, doc: SignInput, schema: WritableSchema) {
  const timestamp = (JSON.parse(out) as { timestamp: string }).timestamp;
  const record = await generateWithSigner(countingSigner(inner, attestation), doc, {
    schema,
    now: () => new Date(timestamp),
  });
  return JSON.stringify(record);
}

describe('signBatch with a signer that signs on the threads itself (a token)', () => {
  const doc = (i: number, payload: string) => `{"transaction_hash":"${tx(i)}","payload":${payload}}`;
  // Whitespace, CRLF, blank lines, escapes, __proto__, big and odd numbers, key order, a duplicate key (a bad line).
  const adversarial = [
    `${line(1001)}\r`,
    '   ',
    '',
    `  ${line(1002)}\t `,
    doc(1003, '{"__proto__":{"x":1},"b":"\\u00e9\\n\\/","c":[1e2,-0.5,0,1E-7]}'),
    doc(1004, '{"n":12345678901234567890,"m":-0.0}'),
    doc(1005, '{"a":1,"a":2}'),
    `{"payload":{"z":1,"a":[1,2,{"y":null}],"1":"x","":"empty"},"transaction_hash":"${tx(1006)}"}`,
    doc(1007, '{"t":"é\u2028\\ud83d\\ude00","constructor":{"prototype":1}}'),
  ];

  for (const schema of ['2.0.0', '1.1.0'] as const) {
    it(`writes exactly the bytes of the one-record path, attestation included (${schema}, adversarial lines)`, async () => {
      const dir = scratch();
      const input = writePayloads(dir, schema === '1.1.0' ? 0 : 150, schema === '1.1.0' ? [] : adversarial);
      if (schema === '1.1.0') appendFileSync(input, `${line(1)}\n${line(2)}\n`);
      const signer = threadSigningSigner();
      const out = join(dir, 'out.jsonl');
      const r = await signBatch({
        signer,
        input,
        output: jsonlSink(out),
        schema,
        threads: { count: 2, minInputBytes: 0 },
      });
      // The threads signed every record: the signer itself signed none.
      expect(signer.count).toBe(0);
      expect(signer.asked).toEqual([3]);
      expect(signer.released).toBe(1);
      const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
      expect(lines).toHaveLength(r.signed);
      // Each input line read as the batch reads it (big numbers, escapes and __proto__ kept exactly).
      const docs = new Map<string, SignInput>();
      for (const l of readFileSync(input, 'utf8').split('\n')) {
        try {
          const d = lineDocument(Buffer.from(l));
          docs.set(d.transactionHash, d);
        } catch {}
      }
      for (const l of lines) {
        const d = docs.get((JSON.parse(l) as { transaction_hash: string }).transaction_hash)!;
        expect(l).toBe(await slowLine(l, d, schema));
      }
      // The same lines signed and refused as on the signer, line by line.
      const slow = await signBatch({
        signer: countingSigner(inner, attestation),
        input,
        output: jsonlSink(join(dir, 'slow.jsonl')),
        schema,
      });
      expect(r.badLines).toEqual(slow.badLines);
      expect(r).toMatchObject({ lines: slow.lines, signed: slow.signed, bad: slow.bad });
      if (schema === '2.0.0') {
        expect(r).toMatchObject({ signed: 155, bad: 2 });
        expect(await verifiedJsonl(verifier, out)).toHaveLength(155);
        expect((JSON.parse(lines[0]!) as { hardware_attestation: unknown }).hardware_attestation).toEqual(attestation);
      }
    });
  }

  it('signs on this thread alone for a small input, with one session, released once', async () => {
    const dir = scratch();
    const signer = threadSigningSigner();
    const r = await signBatch({
      signer,
      input: writePayloads(dir, 5),
      output: jsonlSink(join(dir, 'out.jsonl')),
      threads: { count: 2 },
    });
    expect(r.signed).toBe(5);
    expect(signer).toMatchObject({ count: 0, asked: [1], released: 1 });
  });

  it('leaves the lines to the signer when it cannot sign on threads (an ECDSA token key)', async () => {
    const dir = scratch();
    const signer = threadSigningSigner({ none: true });
    const out = join(dir, 'out.jsonl');
    const r = await signBatch({
      signer,
      input: writePayloads(dir, 40),
      output: jsonlSink(out),
      threads: { count: 2, minInputBytes: 0 },
    });
    expect(r.signed).toBe(40);
    expect(signer.count).toBe(40);
    expect(await verifiedJsonl(verifier, out)).toHaveLength(40);
  });

  it("stops the batch with the thread signer's own code (a lost session), releases it, and a rerun finishes", async () => {
    const dir = scratch();
    const input = writePayloads(dir, 400);
    const out = join(dir, 'out.jsonl');
    const failing = threadSigningSigner({ failAfter: 100 });
    const e = await rejection(
      signBatch({ signer: failing, input, output: jsonlSink(out), threads: { count: 1, minInputBytes: 0 } }),
    );
    expect(e.code).toBe('ERR_PKCS11_SESSION');
    expect(failing.released).toBe(1);
    const again = threadSigningSigner();
    const r = await signBatch({
      signer: again,
      input,
      output: jsonlSink(out),
      threads: { count: 1, minInputBytes: 0 },
    });
    expect(r.signed + r.skipped).toBe(400);
    expect((await verifiedJsonl(verifier, out)).sort()).toEqual(
      Array.from({ length: 400 }, (_, i) => tx(i + 1)).sort(),
    );
  });

  it('stops on the signal while waiting for input from a pipe, and releases the threads (the signer can then close)', async () => {
    const dir = scratch();
    const out = join(dir, 'out.jsonl');
    const pipe = new PassThrough();
    pipe.write(`${line(1)}\n`);
    const stop = new AbortController();
    const signer = threadSigningSigner();
    const done = signBatch({
      signer,
      input: streamBatchInput(pipe),
      output: jsonlSink(out),
      threads: { count: 1 },
      signal: stop.signal,
    });
    // The first record written: the pipe says nothing more, and stays open.
    for (let i = 0; i < 500 && !readFileSync(out, { flag: 'a+' }).includes('\n'); i++)
      await new Promise((r) => setTimeout(r, 10));
    stop.abort();
    const r = await done;
    expect(r).toMatchObject({ signed: 1, stopped: true });
    expect(signer.released).toBe(1);
    pipe.destroy();
  });
});
