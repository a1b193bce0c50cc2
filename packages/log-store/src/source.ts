import { join } from 'node:path';
import { ErstError, isErstError } from '@erst/core';
import { readInputFile } from '@erst/node-io';

/** Where a log's static files come from: a directory or an http(s) URL prefix. */
export interface LogSourceOptions {
  /** Per request, in milliseconds (default 30,000). */
  timeoutMs?: number;
  /** Redirects followed per request, only to http(s) and never from https to http (default 3). */
  maxRedirects?: number;
}

export type ReadResult = Uint8Array | undefined;

/** Reads `path` under the log, at most `maxBytes`; undefined when it does not exist. */
export type LogReader = (path: string, maxBytes: number) => Promise<ReadResult>;

function isUrl(source: string | URL): boolean {
  return source instanceof URL || /^[a-z][a-z0-9+.-]*:\/\//i.test(source);
}

export function logReader(source: string | URL, options: LogSourceOptions = {}): LogReader {
  if (!isUrl(source)) {
    const dir = String(source);
    return async (path, maxBytes) => {
      try {
        return readInputFile(join(dir, ...path.split('/')), maxBytes);
      } catch (e) {
        if (isErstError(e, 'ERR_FILE_NOT_FOUND')) return undefined;
        throw e;
      }
    };
  }
  const base = new URL(String(source));
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new ErstError('ERR_OPTIONS_INVALID', '`source` must be a directory or an http(s) URL', {
      details: { options: ['source'] },
    });
  }
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  const timeoutMs = options.timeoutMs ?? 30_000;
  const maxRedirects = options.maxRedirects ?? 3;
  return async (path, maxBytes) => {
    let url = new URL(path, base);
    const fail = (why: string, cause?: unknown) =>
      new ErstError('ERR_LOG_FETCH_FAILED', `cannot fetch ${url.href}: ${why}`, { cause, details: { url: url.href } });
    const signal = AbortSignal.timeout(timeoutMs);
    try {
      for (let hop = 0; ; hop++) {
        const res = await fetch(url, { redirect: 'manual', signal, headers: { 'accept-encoding': 'gzip, identity' } });
        if (res.status >= 300 && res.status < 400 && res.headers.get('location')) {
          await res.body?.cancel();
          const next = new URL(res.headers.get('location')!, url);
          const downgrade = url.protocol === 'https:' && next.protocol !== 'https:';
          if (hop >= maxRedirects || (next.protocol !== 'http:' && next.protocol !== 'https:') || downgrade) {
            throw fail(
              `redirected to ${next.protocol} (only http(s), never from https to http, at most ${maxRedirects})`,
            );
          }
          url = next;
          continue;
        }
        if (res.status === 404) {
          await res.body?.cancel();
          return undefined;
        }
        if (!res.ok) {
          await res.body?.cancel();
          throw fail(`HTTP ${res.status}`);
        }
        const declared = Number(res.headers.get('content-length') ?? 0);
        if (declared > maxBytes) {
          await res.body?.cancel();
          throw new ErstError('ERR_INPUT_TOO_LARGE', `${url.href} is over ${maxBytes} bytes`, {
            details: { url: url.href, limit: maxBytes },
          });
        }
        return await readCapped(res, maxBytes, url.href);
      }
    } catch (e) {
      if (isErstError(e)) throw e;
      throw fail((e as Error).name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : 'network error', e);
    }
  };
}

async function readCapped(res: Response, maxBytes: number, href: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  if (!res.body) return new Uint8Array(0);
  for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
    total += chunk.length;
    if (total > maxBytes) {
      // Throwing out of the loop releases and cancels the stream.
      throw new ErstError('ERR_INPUT_TOO_LARGE', `${href} is over ${maxBytes} bytes`, {
        details: { url: href, limit: maxBytes },
      });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
