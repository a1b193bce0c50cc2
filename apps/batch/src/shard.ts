import { createHash } from 'node:crypto';
import { ErstError } from '@erst/core';

/** This run's part of the work: shard `index` (1-based) of `count`. */
export interface Shard {
  index: number;
  count: number;
}

/** Parses `K/N` (1 <= K <= N). */
export function parseShard(spec: string): Shard {
  const m = /^(\d+)\/(\d+)$/.exec(spec.trim());
  const index = m ? Number(m[1]) : Number.NaN;
  const count = m ? Number(m[2]) : Number.NaN;
  if (!m || !Number.isSafeInteger(index) || !Number.isSafeInteger(count) || count < 1 || index < 1 || index > count) {
    throw new ErstError('ERR_USAGE', `--shard ${JSON.stringify(spec)}: expected K/N with 1 <= K <= N, for example 1/4`);
  }
  return { index, count };
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
