/**
 * Asking a Time-Stamp Authority over HTTP (RFC 3161 3.4). Uses only `fetch`
 * and timers, so it runs in Node 20+ and in browsers alike; kept out of the
 * root entry so that verifiers depend on no network code.
 */
import { ErstError, escapeForDisplay } from '@erst/core';
import { MAX_RESPONSE_BYTES } from './asn1.js';
import { checkImprint, createTimestampRequest, optionError, parseTimestampResponse } from './request.js';
import { decodeToken } from './token.js';
import { checkAnswer } from './verify.js';

export const QUERY_CONTENT_TYPE = 'application/timestamp-query';
export const REPLY_CONTENT_TYPE = 'application/timestamp-reply';
export { MAX_RESPONSE_BYTES };

export const DEFAULT_TIMEOUT_MS = 10_000;
export const DEFAULT_RETRIES = 2;
export const DEFAULT_BACKOFF_MS = 500;
const MAX_TIMEOUT_MS = 600_000;
const MAX_RETRIES = 10;
const MAX_BACKOFF_MS = 60_000;

export interface RequestTimestampOptions {
  /** Per attempt, from sending the request to the last byte of the reply; default DEFAULT_TIMEOUT_MS. */
  timeoutMs?: number;
  /** Further attempts after a network error, a timeout, HTTP 429 or a 5xx answer; default DEFAULT_RETRIES. */
  retries?: number;
  /** Wait before retry n (1, 2, ...): backoffMs * 2^(n-1), halved to doubled at random; default DEFAULT_BACKOFF_MS. */
  backoffMs?: number;
  /** Aborts the whole request, retries and waits included: rejects with the signal's reason. */
  signal?: AbortSignal;
  /** The fetch to use; default globalThis.fetch. */
  fetch?: typeof globalThis.fetch;
  /** WebCrypto for the nonce; default globalThis.crypto. */
  crypto?: Crypto;
}

export interface TimestampResponse {
  /** The DER TimeStampToken. Store it base64-encoded; verify it with `verifyTimestampToken`. */
  token: Uint8Array;
  /** The nonce the request carried (hex): the token has been checked to carry it back. */
  nonce: string;
  /** Attempts made (1 when the first one answered). */
  attempts: number;
}

function whole(option: string, value: unknown, min: number, max: number, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < min || value > max) {
    throw optionError(option, `must be a whole number from ${min} to ${max}`);
  }
  return value;
}

function tsaUrl(url: unknown): URL {
  let u: URL | undefined;
  try {
    u = typeof url === 'string' || url instanceof URL ? new URL(url) : undefined;
  } catch {
    u = undefined;
  }
  if (!u || (u.protocol !== 'http:' && u.protocol !== 'https:')) {
    throw optionError('tsaUrl', 'must be an http: or https: URL');
  }
  return u;
}

/** Why an attempt failed, and whether another may succeed. */
class AttemptFailure {
  constructor(
    readonly code: 'ERR_TSA_UNREACHABLE' | 'ERR_TSA_HTTP_ERROR',
    readonly message: string,
    readonly retry: boolean,
    readonly options: { cause?: unknown; details?: Record<string, unknown> } = {},
  ) {}

  /** The error for the caller, saying how many attempts were made when there were several. */
  toError(attempts: number): ErstError {
    const message = attempts > 1 ? `${this.message} (${attempts} attempts)` : this.message;
    return new ErstError(this.code, message, { ...this.options, details: { ...this.options.details, attempts } });
  }
}

/** The body, read up to MAX_RESPONSE_BYTES: a TSA that sends more is refused before it is all held. */
async function readCapped(res: Response, where: string): Promise<Uint8Array> {
  const declared = Number(res.headers.get('content-length'));
  const tooLarge = () =>
    new AttemptFailure('ERR_TSA_HTTP_ERROR', `${where} answered more than ${MAX_RESPONSE_BYTES} bytes`, false, {
      details: { limit: MAX_RESPONSE_BYTES },
    });
  if (declared > MAX_RESPONSE_BYTES) {
    await res.body?.cancel().catch(() => {});
    throw tooLarge();
  }
  if (!res.body) return new Uint8Array(0);
  const chunks: Uint8Array[] = [];
  let size = 0;
  const reader = res.body.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.length;
    if (size > MAX_RESPONSE_BYTES) {
      await reader.cancel().catch(() => {});
      throw tooLarge();
    }
    chunks.push(value);
  }
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

async function attempt(
  fetchFn: typeof globalThis.fetch,
  url: URL,
  request: Uint8Array,
  timeoutMs: number,
  signal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const where = `the TSA at ${url.origin}`;
  const timeout = AbortSignal.timeout(timeoutMs);
  const both = signal ? AbortSignal.any([signal, timeout]) : timeout;
  try {
    const res = await fetchFn(url, {
      method: 'POST',
      headers: { 'Content-Type': QUERY_CONTENT_TYPE, Accept: REPLY_CONTENT_TYPE },
      body: request as BodyInit,
      // A TSA that redirects is misconfigured; following would turn the POST into a GET.
      redirect: 'manual',
      signal: both,
    });
    if (res.status < 200 || res.status > 299) {
      await res.body?.cancel().catch(() => {});
      throw new AttemptFailure('ERR_TSA_HTTP_ERROR', `${where} answered HTTP ${res.status}`, retryable(res.status), {
        details: { status: res.status },
      });
    }
    const type = res.headers.get('content-type')?.split(';')[0]?.trim().toLowerCase();
    if (type !== REPLY_CONTENT_TYPE) {
      await res.body?.cancel().catch(() => {});
      const got = type ? `"${escapeForDisplay(type.slice(0, 100))}"` : 'no content type';
      throw new AttemptFailure('ERR_TSA_HTTP_ERROR', `${where} answered ${got}, not ${REPLY_CONTENT_TYPE}`, false);
    }
    return await readCapped(res, where);
  } catch (e) {
    if (e instanceof AttemptFailure) throw e;
    if (signal?.aborted) throw signal.reason;
    const timedOut = timeout.aborted;
    const why = timedOut ? `did not answer within ${timeoutMs} ms` : 'could not be reached';
    throw new AttemptFailure('ERR_TSA_UNREACHABLE', `${where} ${why}`, true, { cause: e, details: { timedOut } });
  }
}

/** Busy or failing servers may answer next time; any other status is the TSA's answer. */
function retryable(status: number): boolean {
  return status === 429 || status >= 500;
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** Asks one TSA for tokens, its options checked once: see `timestampClient`. */
export type TimestampClient = (imprint: Uint8Array, signal?: AbortSignal) => Promise<TimestampResponse>;

/**
 * Checks `url` and `options` once and returns a function that asks the TSA
 * at `url` for a token over a SHA-256 `imprint`, as `requestTimestamp` does
 * (`options.signal`, or the call's own `signal`, aborts it): for callers that
 * ask many times and want a bad option refused before the first request.
 *
 * @throws ERR_OPTIONS_INVALID naming `tsaUrl`, `timeoutMs`, `retries` or
 *   `backoffMs`; the function it returns throws what `requestTimestamp` does.
 * @example
 * const ask = timestampClient('https://tsa.example/', { retries: 4 });
 * const { token } = await ask(sha256(bytes));
 */
export function timestampClient(url: string | URL, options: RequestTimestampOptions = {}): TimestampClient {
  const target = tsaUrl(url);
  const timeoutMs = whole('timeoutMs', options.timeoutMs, 1, MAX_TIMEOUT_MS, DEFAULT_TIMEOUT_MS);
  const retries = whole('retries', options.retries, 0, MAX_RETRIES, DEFAULT_RETRIES);
  const backoffMs = whole('backoffMs', options.backoffMs, 0, MAX_BACKOFF_MS, DEFAULT_BACKOFF_MS);
  const fetchFn = options.fetch ?? globalThis.fetch;
  return async (imprint, callSignal) => {
    checkImprint(imprint);
    const signal = callSignal ?? options.signal;
    const { request, nonce } = createTimestampRequest(imprint, options.crypto ? { crypto: options.crypto } : {});
    for (let attempts = 1; ; attempts++) {
      try {
        const response = await attempt(fetchFn, target, request, timeoutMs, signal);
        const token = parseTimestampResponse(response);
        checkAnswer(decodeToken(token), imprint, nonce);
        return { token, nonce, attempts };
      } catch (e) {
        if (!(e instanceof AttemptFailure)) throw e;
        if (!e.retry || attempts > retries) throw e.toError(attempts);
        const wait = backoffMs * 2 ** (attempts - 1) * (0.5 + Math.random() * 1.5);
        await sleep(Math.round(wait), signal);
      }
    }
  };
}

/**
 * Asks the TSA at `url` for a token over the SHA-256 `imprint`: POSTs a
 * TimeStampReq (fresh nonce, certReq) as `application/timestamp-query`,
 * accepts only a 2xx `application/timestamp-reply` of at most
 * MAX_RESPONSE_BYTES, and checks that the token is over `imprint` and
 * carries the nonce. Network errors, timeouts, 429 and 5xx are retried with
 * exponential backoff; anything else is the TSA's answer and is not.
 *
 * Trust is not checked here (no roots are needed to ask): verify the token
 * with `verifyTimestampToken` and the pinned TSA roots.
 *
 * @throws ERR_TSA_UNREACHABLE (network error or timeout, after the retries),
 *   ERR_TSA_HTTP_ERROR (status, content type, size), ERR_TSA_REJECTED,
 *   ERR_TSA_RESPONSE_MALFORMED, ERR_TIMESTAMP_MALFORMED,
 *   ERR_TIMESTAMP_IMPRINT_MISMATCH, ERR_TIMESTAMP_NONCE_MISMATCH;
 *   ERR_OPTIONS_INVALID naming `tsaUrl`, `imprint`, `timeoutMs`, `retries`
 *   or `backoffMs`; the signal's reason when it aborts.
 * @example
 * const { token } = await requestTimestamp('https://tsa.example/', sha256(bytes));
 */
export async function requestTimestamp(
  url: string | URL,
  imprint: Uint8Array,
  options: RequestTimestampOptions = {},
): Promise<TimestampResponse> {
  tsaUrl(url);
  // The imprint is checked before the other options, as it always was.
  checkImprint(imprint);
  return timestampClient(url, options)(imprint);
}
