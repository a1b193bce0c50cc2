import { createHash } from 'node:crypto';
import { ErstError } from '@erst/core';

/** This run's part of the work: shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * Parses `K/N` (1 <= K <= N), as a command line or a configuration gives it.
 * Throws ERR_OPTIONS_INVALID naming `shard`.
 */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const shard = { index: Number(m?.[1]), count: Number(m?.[2]) };
  if (!isShard(shard)) throw shardError(JSON.stringify(spec));
  return shard;
}

/** The shard, if it is one (1 <= index <= count, whole numbers); ERR_OPTIONS_INVALID naming `shard` if not. */
export function checkShard(shard: Shard): Shard {
  if (!isShard(shard)) throw shardError(`${shard.index}/${shard.count}`);
  return shard;
}

function isShard({ index, count }: Shard): boolean {
  return Number.isSafeInteger(index) && Number.isSafeInteger(count) && count >= 1 && index >= 1 && index <= count;
}

function shardError(given: string): ErstError {
  return new ErstError('ERR_OPTIONS_INVALID', `\`shard\` ${given}: expected K/N with 1 <= K <= N, for example 1/4`, {
    details: { options: ['shard'] },
  });
}

export function formatShard(s: Shard): string {
  return `${s.index}/${s.count}`;
}

/**
 * The shard (1-based) that owns a record: the first four bytes of
 * SHA-256(source name, UTF-8) as a big-endian integer, mod N, plus one. It
 * depends on nothing but the name, so it is the same whatever the worker
 * count, input order or machine.
 */
export function shardOf(source: string, count: number): number {
  if (count === 1) return 1;
  return (createHash('sha256').update(source, 'utf8').digest().readUInt32BE(0) % count) + 1;
}
