import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateWithSigner, timestampImprint, withTimestampToken } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { type TestTsa, startTestTsa } from '@erst/test-tsa';
import { createTimestampRequest, parseTimestampResponse } from '@erst/timestamp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// The built package: its worker threads run dist/worker.js, which only exists built.
import { type Report, htmlReport, mergeReports, runVerify, shardOf, textSummary } from '../../dist/index.js';

const A = generateKeyPair();
const B = generateKeyPair();
const DAY1 = '2026-11-20';
const DAY2 = '2026-11-21';
const keyOf = (k: typeof A) => `ed25519:${k.publicKeyHex}`;

let tsa: TestTsa;
let archive: string;

/** A token over the record's trace_hash from the test TSA (`openssl ts -reply`). */
async function token(imprint: Uint8Array): Promise<string> {
  const { request } = createTimestampRequest(imprint);
  const res = await fetch(tsa.url, {
    method: 'POST',
    headers: { 'content-type': 'application/timestamp-query' },
    body: request as BufferSource,
  });
  return Buffer.from(parseTimestampResponse(new Uint8Array(await res.arrayBuffer()))).toString('base64');
}

/**
 * Two keys, two days, with and without tokens: A has 2 timestamped records
 * on day 1 and 1 without on day 2; B has 1 without on day 1 and 1
 * timestamped on day 2.
 */
const RECORDS: [typeof A, string, boolean][] = [
  [A, DAY1, true],
  [A, DAY1, true],
  [A, DAY2, false],
  [B, DAY1, false],
  [B, DAY2, true],
];

beforeAll(async () => {
  tsa = await startTestTsa();
  archive = join(tempDir('erst-batch-verify-ts-'), 'logs');
  mkdirSync(archive);
  for (const [i, [key, day, stamped]] of RECORDS.entries()) {
    let record = await generateWithSigner(
      key.signer,
      { transactionHash: (i + 1).toString(16).padStart(64, '0'), payload: { events: [] } },
      { schema: '2.1.0', now: () => new Date(`${day}T10:00:0${i}Z`) },
    );
    if (stamped) record = withTimestampToken(record, await token(timestampImprint(record)));
    writeFileSync(join(archive, recordName(i)), JSON.stringify(record));
  }
}, 60_000);

/**
 * A record's file name. The last one's is chosen so that it falls in the other of two shards than the first's: a
 * shard is a hash of the path, which holds the random temporary directory, so with fixed names all five records
 * landed in one shard in about one run in sixteen (and the shard test failed).
 */
function recordName(i: number): string {
  if (i < RECORDS.length - 1) return `r${i}.json`;
  const first = shardOf(join(archive, recordName(0)), 2);
  for (let k = 0; ; k++) if (shardOf(join(archive, `r${i}-${k}.json`), 2) !== first) return `r${i}-${k}.json`;
}

afterAll(() => tsa.close());

function run(tsaRoots: string[], shard?: { index: number; count: number }): Promise<Report> {
  return runVerify({
    inputs: [archive],
    verify: { publicKeys: [A.publicKeyHex, B.publicKeyHex], tsaRoots },
    workers: 2,
    ...(shard ? { shard } : {}),
  });
}

const counts = (timestamped: number, not_timestamped: number, unverified = 0) => ({
  timestamped,
  not_timestamped,
  unverified,
});

describe('trusted timestamps in the report, by key and by day', () => {
  it('JSON: records whose token verified against the pinned TSA root count as timestamped', async () => {
    const r = await run([tsa.rootPem]);
    expect(r.totals).toEqual({ records: 5, valid: 5, invalid: 0, unreadable: 0 });
    expect(r.timestamps).toEqual({
      ...counts(3, 2),
      by_key: Object.fromEntries(
        [
          [keyOf(A), counts(2, 1)],
          [keyOf(B), counts(1, 1)],
        ].sort(([a], [b]) => (a! < b! ? -1 : 1)),
      ),
      by_day: { [DAY1]: counts(2, 1), [DAY2]: counts(1, 1) },
    });
  });

  it('JSON: without a pinned TSA root, a token is read but not verified: not timestamped, counted as unverified', async () => {
    const r = await run([]);
    expect(r.timestamps).toMatchObject({
      ...counts(0, 5, 3),
      by_key: { [keyOf(A)]: counts(0, 3, 2), [keyOf(B)]: counts(0, 2, 1) },
      by_day: { [DAY1]: counts(0, 3, 2), [DAY2]: counts(0, 2, 1) },
    });
    expect(r.warnings).toEqual({ WARN_TIMESTAMP_NOT_CHECKED: 3 });
  });

  it('the text summary shows the same counts, by key and by day', async () => {
    const text = textSummary(await run([tsa.rootPem]));
    expect(text).toContain('Trusted timestamps (RFC 3161): 3 of 5 records timestamped\n');
    const short = (k: typeof A) => `ed25519 ${k.publicKeyHex.slice(0, 8)}…${k.publicKeyHex.slice(-8)}`;
    expect(text).toMatch(new RegExp(`${short(A)}\\s+2 timestamped\\s+1 not\\n`));
    expect(text).toMatch(new RegExp(`${short(B)}\\s+1 timestamped\\s+1 not\\n`));
    expect(text).toMatch(new RegExp(`${DAY1}\\s+2 timestamped\\s+1 not\\n`));
    expect(text).toMatch(new RegExp(`${DAY2}\\s+1 timestamped\\s+1 not\\n`));
    const unpinned = textSummary(await run([]));
    expect(unpinned).toContain('0 of 5 records timestamped; 3 carry a token that was not verified\n');
    expect(unpinned).toMatch(new RegExp(`${DAY1}\\s+0 timestamped\\s+3 not \\(2 with a token not verified\\)\\n`));
  });

  it('the HTML report shows the same counts, by key and by day', async () => {
    const html = htmlReport(await run([tsa.rootPem]));
    const row = (attr: string, id: string, c: ReturnType<typeof counts>) =>
      new RegExp(
        `<tr data-${attr}="${id}"><td>[^<]*</td><td class="n timestamped">${c.timestamped}</td>` +
          `<td class="n not-timestamped">${c.not_timestamped}</td><td class="n unverified">${c.unverified}</td></tr>`,
      );
    expect(html).toContain('data-timestamped="3" data-not-timestamped="2" data-unverified="0"');
    expect(html).toMatch(row('key', keyOf(A), counts(2, 1)));
    expect(html).toMatch(row('key', keyOf(B), counts(1, 1)));
    expect(html).toMatch(row('day', DAY1, counts(2, 1)));
    expect(html).toMatch(row('day', DAY2, counts(1, 1)));
    expect(html).toContain('<span class="num" id="total-timestamped">3</span>');
  });

  it('merged shard reports sum to the counts of one unsharded run', async () => {
    const whole = await run([tsa.rootPem]);
    const parts = await Promise.all([1, 2].map((index) => run([tsa.rootPem], { index, count: 2 })));
    // Each shard saw some of the records, and counted only those.
    expect(parts.map((p) => p.totals.records).every((n) => n > 0 && n < 5)).toBe(true);
    const merged = mergeReports(parts.map((report, i) => ({ name: `s${i + 1}`, report })));
    expect(merged.timestamps).toEqual(whole.timestamps);
  });
});
