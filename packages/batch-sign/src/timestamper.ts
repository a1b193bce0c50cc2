import {
  type AuditRecordV2_1,
  ErstError,
  bytesToBase64,
  isErstError,
  sha256,
  timestampImprint,
  utf8Bytes,
  withTimestampToken,
} from '@erst/core';
import type { TimestampClient } from '@erst/timestamp/client';
import { Limiter } from './limiter.js';

/** Requests to the TSA in flight at once unless `tsaConcurrency` says otherwise: a public TSA throttles more. */
export const DEFAULT_TSA_CONCURRENCY = 8;
/** The most requests in flight that `tsaConcurrency` accepts. */
export const MAX_TSA_CONCURRENCY = 64;

export interface TimestamperOptions {
  /** The TSA's http: or https: URL. */
  readonly tsaUrl: string | URL;
  /** Per attempt, in ms (the client's default: 10 s). */
  readonly timeoutMs?: number;
  /** Further attempts after a network error, a timeout, 429 or 5xx (the client's default: 2). */
  readonly retries?: number;
  /** First wait between attempts, doubling (the client's default: 500 ms). */
  readonly backoffMs?: number;
  /** Requests in flight at once, 1 to MAX_TSA_CONCURRENCY (default DEFAULT_TSA_CONCURRENCY). */
  readonly tsaConcurrency?: number;
  /**
   * Pinned TSA roots (PEM texts): when given, each new token must verify
   * under one (and, for a record, not predate its `timestamp`) before it is
   * handed back, so that nothing is written with a token a verifier will refuse.
   */
  readonly tsaRoots?: readonly string[];
  /** The fetch to use; default globalThis.fetch. */
  readonly fetch?: typeof globalThis.fetch;
}

/** What a timestamper got so far. */
export interface TimestamperStats {
  /** Tokens had (one per record or checkpoint), each checked against its request. */
  readonly tokens: number;
  /** Records or checkpoints for which no token could be had, after the retries. */
  readonly failures: number;
}

/** Asks a TSA for tokens, a bounded number at a time: see `tsaTimestamper`. */
export interface Timestamper {
  /** The 2.1.0 record with `timestamp_token` set to a new token over its `trace_hash`. */
  stampRecord(record: AuditRecordV2_1): Promise<AuditRecordV2_1>;
  /**
   * The DER token over SHA-256 of a checkpoint's signed note text (UTF-8,
   * `<origin>\n<size>\n<root>\n`, without the signature lines): what a log
   * proof's `extra` line carries.
   */
  checkpointToken(noteText: string): Promise<Uint8Array>;
  stats(): TimestamperStats;
}

/**
 * Whether `e` means that no token could be had for one record or
 * checkpoint (the TSA unreachable, failing, refusing, or answering with a
 * token that does not hold up): the record is left for a rerun, never
 * written without its token.
 */
export function isTimestampFailure(e: unknown): boolean {
  return isErstError(e) && (e.code.startsWith('ERR_TSA_') || e.code.startsWith('ERR_TIMESTAMP_'));
}

/**
 * Makes a `Timestamper` that asks the TSA at `tsaUrl` (RFC 3161; SHA-256
 * imprint, a random nonce, certReq) with `@erst/timestamp/client`: at most
 * `tsaConcurrency` requests in flight, each retried with backoff as
 * `retries` and `backoffMs` say. Every option is checked here, before any
 * request. The TSA code is loaded only when a timestamper is made.
 *
 * @throws ErstError `ERR_OPTIONS_INVALID` naming `tsaUrl`, `timeoutMs`,
 * `retries`, `backoffMs`, `tsaConcurrency` or `tsaRoots`. Its methods throw
 * the client's codes (`ERR_TSA_UNREACHABLE`, `ERR_TSA_HTTP_ERROR`,
 * `ERR_TSA_REJECTED`, `ERR_TSA_RESPONSE_MALFORMED`, `ERR_TIMESTAMP_*`), and
 * with `tsaRoots` the verifier's (`ERR_TIMESTAMP_UNTRUSTED_ROOT`, ...).
 * @example
 * const timestamper = await tsaTimestamper({ tsaUrl: 'https://tsa.example/', tsaRoots: [rootPem] });
 * const stamped = await timestamper.stampRecord(record);
 */
export async function tsaTimestamper(options: TimestamperOptions): Promise<Timestamper> {
  if (typeof options !== 'object' || options === null) throw new TypeError('tsaTimestamper needs an options object');
  const concurrency = options.tsaConcurrency ?? DEFAULT_TSA_CONCURRENCY;
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > MAX_TSA_CONCURRENCY) {
    throw new ErstError(
      'ERR_OPTIONS_INVALID',
      `\`tsaConcurrency\` must be a whole number from 1 to ${MAX_TSA_CONCURRENCY}`,
      { details: { options: ['tsaConcurrency'] } },
    );
  }
  const roots = options.tsaRoots;
  if (roots !== undefined && (!Array.isArray(roots) || roots.length === 0 || roots.some((r) => typeof r !== 'string')))
    throw new ErstError('ERR_OPTIONS_INVALID', '`tsaRoots` must be a non-empty list of PEM texts', {
      details: { options: ['tsaRoots'] },
    });
  const { timestampClient } = await import('@erst/timestamp/client');
  const ask = timestampClient(options.tsaUrl, {
    ...(options.timeoutMs === undefined ? {} : { timeoutMs: options.timeoutMs }),
    ...(options.retries === undefined ? {} : { retries: options.retries }),
    ...(options.backoffMs === undefined ? {} : { backoffMs: options.backoffMs }),
    ...(options.fetch ? { fetch: options.fetch } : {}),
  });
  const timestamp = roots ? await import('@erst/timestamp') : undefined;
  return new PooledTimestamper(ask, new Limiter(concurrency), roots && timestamp ? { roots, timestamp } : undefined);
}

interface Check {
  readonly roots: readonly string[];
  readonly timestamp: typeof import('@erst/timestamp');
}

class PooledTimestamper implements Timestamper {
  readonly #ask: TimestampClient;
  readonly #pool: Limiter;
  readonly #check: Check | undefined;
  readonly #stats = { tokens: 0, failures: 0 };

  constructor(ask: TimestampClient, pool: Limiter, check: Check | undefined) {
    this.#ask = ask;
    this.#pool = pool;
    this.#check = check;
  }

  stats(): TimestamperStats {
    return { ...this.#stats };
  }

  async stampRecord(record: AuditRecordV2_1): Promise<AuditRecordV2_1> {
    const token = await this.#token(timestampImprint(record), record.timestamp);
    return withTimestampToken(record, bytesToBase64(token));
  }

  async checkpointToken(noteText: string): Promise<Uint8Array> {
    if (typeof noteText !== 'string' || !noteText.endsWith('\n')) {
      throw new ErstError('ERR_OPTIONS_INVALID', "`noteText` must be a checkpoint's signed note text", {
        details: { options: ['noteText'] },
      });
    }
    return this.#token(sha256(utf8Bytes(noteText)));
  }

  /**
   * One token over `imprint`, asked in the pool; with pinned roots, it must
   * verify under one and, for a record, not predate its `recordTimestamp`.
   */
  async #token(imprint: Uint8Array, recordTimestamp?: string): Promise<Uint8Array> {
    try {
      const { token, nonce } = await this.#pooled(() => this.#ask(imprint));
      if (this.#check) {
        const { roots, timestamp } = this.#check;
        const info = await timestamp.verifyTimestampToken(token, { imprint, tsaRoots: roots, nonce });
        if (recordTimestamp !== undefined) timestamp.checkTimestampOrder(recordTimestamp, info.timestamped_at);
      }
      this.#stats.tokens++;
      return token;
    } catch (e) {
      if (isTimestampFailure(e)) this.#stats.failures++;
      throw e;
    }
  }

  /** Runs `task` once the pool has room, and resolves with its result (the Limiter resolves when it starts). */
  async #pooled<T>(task: () => Promise<T>): Promise<T> {
    let settle!: { resolve: (v: T) => void; reject: (e: unknown) => void };
    const done = new Promise<T>((resolve, reject) => {
      settle = { resolve, reject };
    });
    await this.#pool.run(() => task().then(settle.resolve, settle.reject));
    return done;
  }
}
