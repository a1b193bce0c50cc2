import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { MAX_RESPONSE_BYTES, requestTimestamp, timestampClient } from '../client.js';
import { verifyTimestampToken } from '../index.js';
import { IMPRINT, rejected } from './helpers.js';

let tsa: TestTsa;
beforeAll(async () => {
  tsa = await startTestTsa();
});
afterAll(() => tsa.close());
afterEach(() => tsa.behave({}));

/** Fast retries, so that the tests wait milliseconds. */
const FAST = { timeoutMs: 5_000, retries: 2, backoffMs: 1 };

/** Requests the TSA received during `fn`. */
async function counted<T>(fn: () => Promise<T>): Promise<{ result: T; requests: number }> {
  const before = tsa.requests;
  const result = await fn();
  return { result, requests: tsa.requests - before };
}

describe('requestTimestamp', () => {
  it('returns the DER token, the nonce it sent (the one in the query the TSA received) and the attempts', async () => {
    const r = await requestTimestamp(tsa.url, IMPRINT, FAST);
    expect(r.attempts).toBe(1);
    // 128 bits as a positive DER INTEGER: first byte 01 to 7f.
    expect(r.nonce).toMatch(/^(?!00)[0-7][0-9a-f]{31}$/);
    const query = Buffer.from(tsa.queries[tsa.queries.length - 1]!).toString('hex');
    expect(query).toContain(r.nonce);
    expect(query).toContain(Buffer.from(IMPRINT).toString('hex'));
    await expect(
      verifyTimestampToken(r.token, { imprint: IMPRINT, tsaRoots: [tsa.rootPem], nonce: r.nonce }),
    ).resolves.toBeDefined();
  });

  it("a rejection is the TSA answer: ERR_TSA_REJECTED with openssl's status text and failure info, not retried", async () => {
    tsa.behave({ answer: 'reject' });
    const { result: e, requests } = await counted(() => rejected(requestTimestamp(tsa.url, IMPRINT, FAST)));
    expect(e.code).toBe('ERR_TSA_REJECTED');
    expect(e.message).toContain('rejection');
    expect(e.message).toContain('"Message digest algorithm is not supported."');
    expect(e.details).toEqual({ status: 'rejection', failInfo: ['badAlg'] });
    expect(requests).toBe(1);
  });

  it('granted with modifications is refused as well: ERR_TSA_REJECTED with the status text', async () => {
    tsa.behave({ answer: 'granted-with-mods' });
    const e = await rejected(requestTimestamp(tsa.url, IMPRINT, FAST));
    expect(e.code).toBe('ERR_TSA_REJECTED');
    expect(e.message).toBe('the TSA answered grantedWithMods: "policy changed by the test TSA"');
  });

  it('a TSA that does not answer in time: ERR_TSA_UNREACHABLE after every retry', async () => {
    // A TSA of its own: requests a slow machine delivers after the client gave up must not count for other tests.
    const slow = await startTestTsa({ credentials: tsa.credentials, behaviour: { delayMs: 5_000 } });
    try {
      const e = await rejected(requestTimestamp(slow.url, IMPRINT, { timeoutMs: 300, retries: 1, backoffMs: 1 }));
      expect(e.code).toBe('ERR_TSA_UNREACHABLE');
      expect(e.details).toEqual({ timedOut: true, attempts: 2 });
      expect(e.message).toContain('did not answer within 300 ms (2 attempts)');
      await vi.waitFor(() => expect(slow.requests).toBe(2));
    } finally {
      await slow.close();
    }
  });

  it('HTTP 500 is retried, then ERR_TSA_HTTP_ERROR', async () => {
    tsa.behave({ answer: 'http-500' });
    const { result: e, requests } = await counted(() => rejected(requestTimestamp(tsa.url, IMPRINT, FAST)));
    expect(e.code).toBe('ERR_TSA_HTTP_ERROR');
    expect(e.details).toEqual({ status: 500, attempts: 3 });
    expect(requests).toBe(3);
  });

  it('HTTP 404 is the answer: ERR_TSA_HTTP_ERROR at once', async () => {
    tsa.behave({ answer: 'http-404' });
    const { result: e, requests } = await counted(() => rejected(requestTimestamp(tsa.url, IMPRINT, FAST)));
    expect(e.code).toBe('ERR_TSA_HTTP_ERROR');
    expect(e.details).toEqual({ status: 404, attempts: 1 });
    expect(requests).toBe(1);
  });

  it('503s and dropped connections are retried until the TSA answers', async () => {
    tsa.behave({ failFirst: { count: 2, with: 503 } });
    const a = await counted(() => requestTimestamp(tsa.url, IMPRINT, FAST));
    expect([a.result.attempts, a.requests]).toEqual([3, 3]);
    tsa.behave({ failFirst: { count: 1, with: 'reset' } });
    const b = await counted(() => requestTimestamp(tsa.url, IMPRINT, FAST));
    expect([b.result.attempts, b.requests]).toEqual([2, 2]);
  });

  it('waits between attempts, doubling from backoffMs (each wait at least half its step)', async () => {
    tsa.behave({ answer: 'http-500' });
    const started = Date.now();
    await rejected(requestTimestamp(tsa.url, IMPRINT, { retries: 2, backoffMs: 100 }));
    // Waits of 100 and 200 ms, each at least halved: 150 ms at the very least.
    expect(Date.now() - started).toBeGreaterThanOrEqual(150);
  });

  it('connections always dropped, or nothing listening: ERR_TSA_UNREACHABLE', async () => {
    tsa.behave({ answer: 'reset' });
    const e = await rejected(requestTimestamp(tsa.url, IMPRINT, FAST));
    expect(e.code).toBe('ERR_TSA_UNREACHABLE');
    expect(e.details).toEqual({ timedOut: false, attempts: 3 });

    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const { port } = closed.address() as AddressInfo;
    await new Promise((r) => closed.close(r));
    expect((await rejected(requestTimestamp(`http://127.0.0.1:${port}/`, IMPRINT, FAST))).code).toBe(
      'ERR_TSA_UNREACHABLE',
    );
  });

  it('another content type: ERR_TSA_HTTP_ERROR, not retried', async () => {
    tsa.behave({ answer: 'wrong-content-type' });
    const { result: e, requests } = await counted(() => rejected(requestTimestamp(tsa.url, IMPRINT, FAST)));
    expect(e.code).toBe('ERR_TSA_HTTP_ERROR');
    expect(e.message).toContain('"text/plain", not application/timestamp-reply');
    expect(requests).toBe(1);
  });

  it(`a reply over ${MAX_RESPONSE_BYTES} bytes is cut off: ERR_TSA_HTTP_ERROR`, async () => {
    tsa.behave({ answer: 'oversized' });
    const e = await rejected(requestTimestamp(tsa.url, IMPRINT, FAST));
    expect(e.code).toBe('ERR_TSA_HTTP_ERROR');
    expect(e.details).toEqual({ limit: MAX_RESPONSE_BYTES, attempts: 1 });
  });

  it('a reply that is no TimeStampResp: ERR_TSA_RESPONSE_MALFORMED', async () => {
    tsa.behave({ answer: 'garbage' });
    expect((await rejected(requestTimestamp(tsa.url, IMPRINT, FAST))).code).toBe('ERR_TSA_RESPONSE_MALFORMED');
  });

  it('a token over another hash, or with another nonce, is refused before anyone stores it', async () => {
    tsa.behave({ answer: 'other-hash' });
    expect((await rejected(requestTimestamp(tsa.url, IMPRINT, FAST))).code).toBe('ERR_TIMESTAMP_IMPRINT_MISMATCH');
    tsa.behave({ answer: 'other-nonce' });
    expect((await rejected(requestTimestamp(tsa.url, IMPRINT, FAST))).code).toBe('ERR_TIMESTAMP_NONCE_MISMATCH');
  });

  it("the caller's signal ends it at once, with the signal's reason, waits included", async () => {
    const slow = await startTestTsa({ credentials: tsa.credentials, behaviour: { delayMs: 5_000 } });
    try {
      const controller = new AbortController();
      const pending = requestTimestamp(slow.url, IMPRINT, { ...FAST, signal: controller.signal }).catch(
        (e: unknown) => e,
      );
      // Aborted once the TSA holds the request: no retry follows.
      await vi.waitFor(() => expect(slow.requests).toBe(1));
      controller.abort(new Error('stop'));
      expect(((await pending) as Error).message).toBe('stop');
      await new Promise((r) => setTimeout(r, 100));
      expect(slow.requests).toBe(1);
    } finally {
      await slow.close();
    }

    tsa.behave({ answer: 'http-500' });
    const waiting = new AbortController();
    setTimeout(() => waiting.abort(new Error('stop waiting')), 100);
    const started = Date.now();
    const during = await requestTimestamp(tsa.url, IMPRINT, {
      retries: 3,
      backoffMs: 10_000,
      signal: waiting.signal,
    }).catch((e: unknown) => e);
    expect((during as Error).message).toBe('stop waiting');
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it.each([
    ['tsaUrl', 'ftp://127.0.0.1/', {}],
    ['tsaUrl', 'not a url', {}],
    ['timeoutMs', null, { timeoutMs: 0 }],
    ['retries', null, { retries: 11 }],
    ['retries', null, { retries: -1 }],
    ['backoffMs', null, { backoffMs: 1.5 }],
  ] as const)('refuses a bad `%s` before sending anything: ERR_OPTIONS_INVALID', async (option, url, options) => {
    const { result: e, requests } = await counted(() =>
      rejected(requestTimestamp(url ?? tsa.url, IMPRINT, options as Record<string, number>)),
    );
    expect(e.code).toBe('ERR_OPTIONS_INVALID');
    expect(e.details).toEqual({ options: [option] });
    expect(requests).toBe(0);
  });

  it('refuses an imprint that is not 32 bytes: ERR_OPTIONS_INVALID naming `imprint`', async () => {
    const e = await rejected(requestTimestamp(tsa.url, new Uint8Array(20), FAST));
    expect(e.details).toEqual({ options: ['imprint'] });
  });
});

describe('timestampClient', () => {
  it('refuses a bad option when it is made, before any request (not at the first call)', () => {
    const before = tsa.requests;
    let thrown: unknown;
    try {
      timestampClient(tsa.url, { retries: 11 });
    } catch (e) {
      thrown = e;
    }
    expect(thrown).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['retries'] } });
    expect(() => timestampClient('ftp://127.0.0.1/')).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }));
    expect(tsa.requests).toBe(before);
  });

  it('asks as requestTimestamp does, each call with a fresh nonce, retrying as its options say', async () => {
    const ask = timestampClient(tsa.url, FAST);
    const a = await ask(IMPRINT);
    const b = await ask(IMPRINT);
    expect(a.nonce).not.toBe(b.nonce);
    await expect(
      verifyTimestampToken(b.token, { imprint: IMPRINT, tsaRoots: [tsa.rootPem], nonce: b.nonce }),
    ).resolves.toBeDefined();
    tsa.behave({ failFirst: { count: 1, with: 503 } });
    expect((await ask(IMPRINT)).attempts).toBe(2);
  });
});
