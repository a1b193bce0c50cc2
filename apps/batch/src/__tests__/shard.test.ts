import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import type { Report } from '@erst/batch-verify';
import {
  breakSignature,
  gzip,
  makeTar,
  readReport,
  record2,
  runBatch,
  scratchDir,
  stranger,
  vectorRecords,
} from './helpers.js';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
const N = 3;

/** Everything a merged report must agree on with the unsharded one. */
function comparable(
  r: Report,
): Omit<Report, 'shard' | 'merged_from' | 'state'> & { state?: Omit<NonNullable<Report['state']>, 'files'> } {
  const { shard: _s, merged_from: _m, state, ...rest } = r;
  if (!state) return rest;
  // Which state files, and their digests, differ by design: one per shard.
  const { files: _f, digests: _d, ...s } = state;
  return { ...rest, state: s };
}

describe('shards', () => {
  it('the union of N shard reports, merged, equals the unsharded report (state lists too)', async () => {
    const d = scratchDir('erst-batch-shards-');
    const logs = join(d, 'logs');
    mkdirSync(logs);
    for (let i = 0; i < 24; i++)
      writeFileSync(join(logs, `r${i}.json`), JSON.stringify(await record2(`2026-11-${10 + (i % 5)}`)));
    writeFileSync(join(logs, 'bad.json'), breakSignature(JSON.stringify(await record2('2026-11-10'))));
    writeFileSync(join(logs, 'stranger.json'), JSON.stringify(await record2('2026-11-11', stranger)));
    const lines = [...vectorRecords['go-1.1.0'], ...vectorRecords.ts, 'not json'];
    writeFileSync(join(d, 'more.jsonl'), `${lines.join('\n')}\n`);
    const members = [];
    for (let i = 0; i < 12; i++)
      members.push({ name: `t/${i}.json`, data: JSON.stringify(await record2('2026-11-12')) });
    members.push({
      name: 't/tampered.json',
      data: JSON.stringify(await record2('2026-11-12')).replace('"AAAA"', '"AAAB"'),
    });
    writeFileSync(join(d, 'old.tar.gz'), gzip((await makeTar(members)).tar));
    const inputs = [logs, join(d, 'more.jsonl'), join(d, 'old.tar.gz'), join(d, 'not-mounted')];

    const run = async (tag: string, extra: string[]) => {
      const r = await runBatch([
        'verify',
        ...inputs,
        ...PIN,
        '--state',
        join(d, `state-${tag}.json`),
        '--json',
        join(d, `${tag}.json`),
        '-q',
        ...extra,
      ]);
      return { code: r.code, report: readReport(join(d, `${tag}.json`)) };
    };
    const runAll = async () => {
      const whole = await run('all', ['--workers', '2']);
      const shards = [];
      for (let k = 1; k <= N; k++) shards.push(await run(`s${k}`, ['--shard', `${k}/${N}`, '--workers', String(k)]));
      return { whole, shards };
    };

    // First night: baselines (the missing input keeps states from being written; add it only afterwards).
    inputs.pop();
    await runAll();
    inputs.push(join(d, 'not-mounted'));
    // Second night: a log deleted, one replaced, one added, and an input path gone.
    rmSync(join(logs, 'r3.json'));
    writeFileSync(join(logs, 'r4.json'), JSON.stringify(await record2('2026-11-14')));
    writeFileSync(join(logs, 'r99.json'), JSON.stringify(await record2('2026-11-14')));
    const { whole, shards } = await runAll();

    expect(whole.code).toBe(2);
    const total = shards.reduce((n, s) => n + s.report.totals.records, 0);
    expect(total).toBe(whole.report.totals.records);
    for (const s of shards) expect(s.report.totals.records).toBeGreaterThan(0);
    // Every shard tried (and failed) to read the missing input.
    for (const s of shards) expect(s.report.totals.unreadable).toBe(1);

    const m = await runBatch([
      'merge',
      ...shards.map((_, i) => join(d, `s${i + 1}.json`)),
      '--json',
      join(d, 'merged.json'),
      '-q',
    ]);
    expect(m.code).toBe(whole.code);
    const merged = readReport(join(d, 'merged.json'));
    expect(merged.merged_from).toEqual(['1/3', '2/3', '3/3']);
    expect(comparable(merged)).toEqual(comparable(whole.report));
    expect(merged.missing).toEqual([join(logs, 'r3.json')]);
    expect(merged.changed).toEqual([join(logs, 'r4.json')]);
    expect(merged.new).toEqual([join(logs, 'r99.json')]);
    expect(merged.totals.unreadable).toBe(1);
  });

  it('the same shard gives the same report whatever the worker count', async () => {
    const d = scratchDir('erst-batch-shardw-');
    const lines = [];
    for (let i = 0; i < 150; i++) lines.push(JSON.stringify(await record2('2026-11-01')));
    writeFileSync(join(d, 'x.jsonl'), `${lines.join('\n')}\n`);
    const outs = [];
    for (const w of ['1', '4'])
      outs.push(
        (await runBatch(['verify', join(d, 'x.jsonl'), ...PIN, '--shard', '2/3', '--workers', w, '--json', '-', '-q']))
          .stdout,
      );
    expect(outs[0]).toBe(outs[1]);
    expect((JSON.parse(outs[0]!) as Report).totals.records).toBeLessThan(150);
  });

  it('merge refuses an incomplete or inconsistent set of shards (exit 2)', async () => {
    const d = scratchDir('erst-batch-merge-');
    writeFileSync(join(d, 'x.jsonl'), `${JSON.stringify(await record2('2026-11-01'))}\n`);
    for (let k = 1; k <= 2; k++) {
      await runBatch([
        'verify',
        join(d, 'x.jsonl'),
        ...PIN,
        '--shard',
        `${k}/2`,
        '--json',
        join(d, `s${k}.json`),
        '-q',
      ]);
    }
    await runBatch(['verify', join(d, 'x.jsonl'), '--shard', '2/2', '--json', join(d, 'other-trust.json'), '-q']);
    writeFileSync(join(d, 'junk.json'), '{"hello": 1}');
    const cases: [string[], RegExp][] = [
      [[join(d, 's1.json')], /2\/2 missing/],
      [[join(d, 's1.json'), join(d, 's1.json'), join(d, 's2.json')], /given twice/],
      [[join(d, 's1.json'), join(d, 'other-trust.json')], /different trust/],
      [[join(d, 's1.json'), join(d, 'junk.json')], /not an erst-batch report/],
      [[join(d, 'nope.json')], /ERR_FILE_NOT_FOUND/],
    ];
    for (const [args, why] of cases) {
      const r = await runBatch(['merge', ...args, '--json', join(d, 'm.json')]);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(why);
    }
    // @erst/batch-verify refuses them as ERR_OPTIONS_INVALID (`reports`): here that is bad usage of merge.
    expect((await runBatch(['merge', join(d, 's1.json')])).stderr).toMatch(
      /^erst-batch: error ERR_USAGE: shard report 2\/2 missing/,
    );
    const ok = await runBatch(['merge', join(d, 's2.json'), join(d, 's1.json'), '--json', '-', '-q']);
    expect(ok.code).toBe(0);
    expect((JSON.parse(ok.stdout) as Report).totals).toEqual({ records: 1, valid: 1, invalid: 0, unreadable: 0 });
  });

  it('a bad --shard is a usage error naming the flag (the library names its option `shard`)', async () => {
    const r = await runBatch(['verify', scratchDir('erst-batch-shard-flag-'), '--shard', '4/3']);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(
      'erst-batch: error ERR_USAGE: --shard "4/3": expected K/N with 1 <= K <= N, for example 1/4\n',
    );
  });
});
