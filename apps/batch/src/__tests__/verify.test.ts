import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '@erst/batch-verify';
import {
  type Member,
  breakSignature,
  gzip,
  hasStackTrace,
  makeTar,
  readReport,
  record2,
  runBatch,
  scratchDir,
  stranger,
  vectorRecords,
} from './helpers.js';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];

/**
 * The archive of the issue: valid records of every format, tampered ones, one
 * signed by an unpinned key, one unparsable, and a last member cut short.
 */
let dir: string;
let archive: string;
const members: Member[] = [];

beforeAll(async () => {
  dir = scratchDir('erst-batch-verify-');
  const v2 = [await record2('2026-11-24'), await record2('2026-11-25'), await record2('2026-11-25')];
  const bundle = [await record2('2026-11-27'), await record2('2026-11-27')];
  const tamperedPayload = { ...(await record2('2026-11-25')) } as Record<string, unknown>;
  (tamperedPayload.payload as Record<string, unknown>).logs = ['edited afterwards'];
  const unpinned = await record2('2026-11-25', stranger);

  members.push({ name: 'logs/', data: '', type: 'directory' });
  for (const [dirName, ls] of [
    ['go-1.1.0', vectorRecords['go-1.1.0']],
    ['go-1.0.0', vectorRecords['go-1.0.0']],
    ['ts', vectorRecords.ts],
  ] as const) {
    ls.forEach((l, i) => {
      members.push({ name: `logs/${dirName}/${i}.json`, data: l });
    });
  }
  v2.forEach((r, i) => {
    members.push({ name: `logs/v2/${i}.json`, data: `${JSON.stringify(r, null, 2)}\n` });
  });
  members.push({ name: 'bundle.jsonl', data: `${bundle.map((r) => JSON.stringify(r)).join('\n')}\n` });
  members.push({ name: 'README.txt', data: 'not a record' });
  members.push({ name: 'bad/tampered-payload.json', data: JSON.stringify(tamperedPayload) });
  members.push({ name: 'bad/tampered-sig.json', data: breakSignature(vectorRecords['go-1.1.0'][0]!) });
  members.push({ name: 'bad/unpinned.json', data: JSON.stringify(unpinned) });
  members.push({ name: 'bad/unparsable.json', data: '{"version": "2.0.0", "timestamp": ' });
  members.push({ name: 'zz/truncated.json', data: JSON.stringify(await record2('2026-11-25')) });
  const { tar, dataOffset } = await makeTar(members);
  // Cut the archive in the middle of the last member's data.
  const cut = tar.subarray(0, dataOffset[dataOffset.length - 1]! + 100);
  archive = join(dir, 'archive.tar.gz');
  writeFileSync(archive, gzip(cut));
});

describe('erst-batch verify: an archive with every kind of record', () => {
  let report: Report;
  let junit: string;
  let stdout: string;
  let code: number | null;

  beforeAll(async () => {
    const r = await runBatch(['verify', archive, ...PIN, '--json', join(dir, 'r.json'), '--junit', join(dir, 'j.xml')]);
    code = r.code;
    stdout = r.stdout;
    expect(hasStackTrace(r.stderr)).toBe(false);
    report = readReport(join(dir, 'r.json'));
    junit = readFileSync(join(dir, 'j.xml'), 'utf8');
  });

  it('exits 1 with exact counts', () => {
    expect(code).toBe(1);
    expect(report.exit_code).toBe(1);
    // 7 + 5 + 7 vectors, 3 + 2 (jsonl member) 2.0.0 records: 24 valid; 5 failures.
    expect(report.totals).toEqual({ records: 29, valid: 24, invalid: 5, unreadable: 0 });
  });

  it('names every failure with its source and code, sorted by source', () => {
    const a = archive;
    expect(report.failures.map((f) => [f.source, f.code, f.kind])).toEqual([
      [`${a}:bad/tampered-payload.json`, 'ERR_HASH_MISMATCH', 'record'],
      [`${a}:bad/tampered-sig.json`, 'ERR_SIGNATURE_INVALID', 'record'],
      [`${a}:bad/unparsable.json`, 'ERR_JSON_SYNTAX', 'record'],
      [`${a}:bad/unpinned.json`, 'ERR_KEY_NOT_TRUSTED', 'record'],
      [`${a}:zz/truncated.json`, 'ERR_ARCHIVE_CORRUPT', 'record'],
    ]);
    for (const f of report.failures) expect(f.message.length).toBeGreaterThan(10);
    expect(report.by_code).toEqual({
      ERR_ARCHIVE_CORRUPT: 1,
      ERR_HASH_MISMATCH: 1,
      ERR_JSON_SYNTAX: 1,
      ERR_KEY_NOT_TRUSTED: 1,
      ERR_SIGNATURE_INVALID: 1,
    });
  });

  it('counts by format, signing key, day and trust', () => {
    expect(report.by_format).toEqual({
      '1.0.0': { valid: 5, invalid: 0 },
      '1.1.0': { valid: 7, invalid: 1 },
      '2.0.0': { valid: 5, invalid: 2 },
      'erst-ts': { valid: 7, invalid: 0 },
      unknown: { valid: 0, invalid: 2 },
    });
    const mine = report.by_key[`ed25519:${SIGNING_PUBLIC_KEY_HEX}`]!;
    expect([mine.valid, mine.invalid]).toEqual([24, 2]);
    expect(report.by_key[`ed25519:${stranger.publicKeyHex}`]).toMatchObject({ valid: 0, invalid: 1 });
    expect(report.by_day).toEqual({
      '2026-11-24': { valid: 1, invalid: 0 },
      '2026-11-25': { valid: 2, invalid: 2 },
      '2026-11-26': { valid: 19, invalid: 1 },
      '2026-11-27': { valid: 2, invalid: 0 },
      unknown: { valid: 0, invalid: 2 },
    });
    expect(report.by_trust).toEqual({ pinned: 24 });
    // Every 1.x record (the tampered one too) and every erst-ts record has unsigned fields.
    expect(report.warnings.WARN_UNCOVERED_FIELDS).toBe(8 + 5 + 7);
  });

  it('names .jsonl members line by line', async () => {
    const ok = await runBatch(['verify', archive, ...PIN, '--json', '-', '--quiet']);
    const r = JSON.parse(ok.stdout) as Report;
    expect(r.totals.records).toBe(29);
    const s = await runBatch(['verify', archive, '--public-key', '00'.repeat(32), '--json', '-', '-q']);
    const sources = (JSON.parse(s.stdout) as Report).failures.map((f) => f.source);
    expect(sources).toContain(`${archive}:bundle.jsonl:1`);
    expect(sources).toContain(`${archive}:bundle.jsonl:2`);
  });

  it('prints a human summary: counts by result, format and key, and every failure with its reason', () => {
    expect(stdout).toMatch(/erst-batch: 29 records/);
    expect(stdout).toMatch(/valid\s+24/);
    expect(stdout).toMatch(/invalid\s+5/);
    expect(stdout).toMatch(/By format:[\s\S]*1\.1\.0\s+7 valid\s+1 invalid/);
    expect(stdout).toMatch(/By signing key:[\s\S]*ed25519 48409627…e8a22816\s+24 valid\s+2 invalid/);
    for (const f of report.failures) expect(stdout).toContain(`${f.source}: ${f.code}: ${f.message}`);
    expect(stdout).toMatch(/Result: FAIL \(exit 1\)/);
  });

  it('writes JUnit with one failing case per failure and a passing summary case', () => {
    expect(junit.startsWith('<?xml version="1.0" encoding="UTF-8"?>\n<testsuites ')).toBe(true);
    expect(junit).toMatch(/<testsuites name="erst-batch verify" tests="6" failures="5" errors="0"/);
    expect(junit).toContain(`name="24 of 29 records valid in ${archive}"`);
    const failures = [...junit.matchAll(/<failure type="([A-Z_0-9]+)" message="([^"]*)">/g)].map((m) => m[1]);
    expect(failures).toEqual([
      'ERR_HASH_MISMATCH',
      'ERR_SIGNATURE_INVALID',
      'ERR_JSON_SYNTAX',
      'ERR_KEY_NOT_TRUSTED',
      'ERR_ARCHIVE_CORRUPT',
    ]);
    expect(junit).toContain(`name="${archive}:bad/unpinned.json"`);
  });

  it('gives the same report, byte for byte, whatever the worker count', async () => {
    const outs = [];
    for (const w of ['1', '3']) {
      const r = await runBatch(['verify', archive, ...PIN, '--workers', w, '--json', '-', '-q']);
      expect(r.code).toBe(1);
      outs.push(r.stdout);
    }
    expect(outs[0]).toBe(outs[1]);
    expect(outs[0]).toBe(readFileSync(join(dir, 'r.json'), 'utf8'));
  });
});

describe('erst-batch verify: inputs', () => {
  it('reads directories recursively (*.json only), .jsonl with line sources, and plain .tar', async () => {
    const d = scratchDir('erst-batch-inputs-');
    mkdirSync(join(d, 'tree', 'a', 'b'), { recursive: true });
    writeFileSync(join(d, 'tree', 'a', 'one.json'), JSON.stringify(await record2('2026-11-01')));
    writeFileSync(join(d, 'tree', 'a', 'b', 'two.json'), JSON.stringify(await record2('2026-11-02')));
    writeFileSync(join(d, 'tree', 'a', 'notes.txt'), 'ignored');
    writeFileSync(join(d, 'tree', 'a', 'b', 'bad.json'), breakSignature(JSON.stringify(await record2('2026-11-02'))));
    const lines = [
      JSON.stringify(await record2('2026-11-03')),
      '',
      '{"nope": 1}',
      JSON.stringify(await record2('2026-11-03')),
    ];
    writeFileSync(join(d, 'logs.jsonl'), `${lines.join('\r\n')}\r\n`);
    const { tar } = await makeTar([{ name: 'x/r.json', data: JSON.stringify(await record2('2026-11-04')) }]);
    writeFileSync(join(d, 'plain.tar'), tar);
    const tree = join(d, 'tree');
    const r = await runBatch([
      'verify',
      `${tree}/`,
      join(d, 'logs.jsonl'),
      join(d, 'plain.tar'),
      ...PIN,
      '--json',
      '-',
      '-q',
    ]);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.totals).toEqual({ records: 7, valid: 5, invalid: 2, unreadable: 0 });
    expect(rep.failures.map((f) => [f.source, f.code])).toEqual([
      [`${d}/logs.jsonl:3`, 'ERR_RECORD_UNKNOWN_FORMAT'],
      [`${tree}/a/b/bad.json`, 'ERR_SIGNATURE_INVALID'],
    ]);
    expect(rep.by_input[join(d, 'plain.tar')]).toEqual({ valid: 1, invalid: 0, unreadable: 0 });
    expect(rep.by_input[`${tree}/`]).toEqual({ valid: 2, invalid: 1, unreadable: 0 });
  });

  it('a missing path is unreadable input: exit 2, and everything else is still verified', async () => {
    const d = scratchDir('erst-batch-missing-');
    writeFileSync(join(d, 'ok.jsonl'), `${JSON.stringify(await record2('2026-11-05'))}\n`);
    const r = await runBatch(['verify', join(d, 'gone'), join(d, 'ok.jsonl'), ...PIN, '--json', '-', '-q']);
    expect(r.code).toBe(2);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.totals).toEqual({ records: 1, valid: 1, invalid: 0, unreadable: 1 });
    expect(rep.failures).toMatchObject([{ source: join(d, 'gone'), code: 'ERR_FILE_NOT_FOUND', kind: 'unreadable' }]);
  });

  it('an archive that is not gzip at all is unreadable (exit 2); a damaged header mid-tar fails only what follows (exit 1)', async () => {
    const d = scratchDir('erst-batch-damaged-');
    writeFileSync(join(d, 'fake.tar.gz'), 'this is not gzip');
    let r = await runBatch(['verify', join(d, 'fake.tar.gz'), ...PIN, '--json', '-', '-q']);
    expect(r.code).toBe(2);
    expect((JSON.parse(r.stdout) as Report).failures).toMatchObject([
      { code: 'ERR_ARCHIVE_CORRUPT', kind: 'unreadable' },
    ]);

    const ms: Member[] = [];
    for (let i = 0; i < 4; i++) ms.push({ name: `m${i}.json`, data: JSON.stringify(await record2('2026-11-06')) });
    const { tar, dataOffset } = await makeTar(ms);
    const damaged = Buffer.from(tar);
    damaged.write('garbage!', dataOffset[2]! - 512 + 148, 'latin1'); // the third header's checksum field
    writeFileSync(join(d, 'damaged.tar'), damaged);
    r = await runBatch(['verify', join(d, 'damaged.tar'), ...PIN, '--json', '-', '-q']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.totals).toEqual({ records: 3, valid: 2, invalid: 1, unreadable: 0 });
    expect(rep.failures).toMatchObject([
      { source: join(d, 'damaged.tar'), code: 'ERR_ARCHIVE_CORRUPT', kind: 'record' },
    ]);
    expect(rep.failures[0]!.message).toContain('m1.json');
  });

  it('refuses records over --max-bytes without reading them whole', async () => {
    const d = scratchDir('erst-batch-big-');
    const rec = JSON.stringify(await record2('2026-11-07'));
    writeFileSync(join(d, 'big.jsonl'), `${rec}\n${rec.replace('"AAAA"', `"${'A'.repeat(5000)}"`)}\n`);
    const r = await runBatch([
      'verify',
      join(d, 'big.jsonl'),
      ...PIN,
      '--max-bytes',
      String(rec.length + 10),
      '--json',
      '-',
      '-q',
    ]);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Report).failures).toMatchObject([
      { source: `${join(d, 'big.jsonl')}:2`, code: 'ERR_INPUT_TOO_LARGE' },
    ]);
  });

  it('verifies many records through many chunks with bounded work in flight', async () => {
    const d = scratchDir('erst-batch-many-');
    const lines: string[] = [];
    for (let i = 0; i < 700; i++)
      lines.push(JSON.stringify(await record2(`2026-10-${String((i % 28) + 1).padStart(2, '0')}`)));
    lines[333] = breakSignature(lines[333]!);
    writeFileSync(join(d, 'many.jsonl'), `${lines.join('\n')}\n`);
    const r = await runBatch(['verify', join(d, 'many.jsonl'), ...PIN, '--workers', '3', '--json', '-', '-q']);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.totals).toEqual({ records: 700, valid: 699, invalid: 1, unreadable: 0 });
    expect(rep.failures).toMatchObject([{ source: `${join(d, 'many.jsonl')}:334`, code: 'ERR_SIGNATURE_INVALID' }]);
    expect(Object.keys(rep.by_day)).toHaveLength(28);
  });
});

describe('erst-batch verify: trust', () => {
  it('takes a trust file with key windows, and reports a key outside its window', async () => {
    const d = scratchDir('erst-batch-trust-');
    writeFileSync(
      join(d, 'trust.json'),
      JSON.stringify({
        keys: [
          {
            public_key: SIGNING_PUBLIC_KEY_HEX,
            label: 'prod-2026',
            not_before: '2026-11-10T00:00:00Z',
            not_after: '2027-01-01T00:00:00Z',
          },
        ],
      }),
    );
    writeFileSync(
      join(d, 'r.jsonl'),
      `${JSON.stringify(await record2('2026-11-20'))}\n${JSON.stringify(await record2('2026-11-01'))}\n`,
    );
    const r = await runBatch(['verify', join(d, 'r.jsonl'), '--trust', join(d, 'trust.json'), '--json', '-', '-q']);
    expect(r.code).toBe(1);
    const rep = JSON.parse(r.stdout) as Report;
    expect(rep.failures).toMatchObject([{ source: `${join(d, 'r.jsonl')}:2`, code: 'ERR_KEY_OUTSIDE_VALIDITY' }]);
    expect(rep.by_key[`ed25519:${SIGNING_PUBLIC_KEY_HEX}`]).toEqual({
      algorithm: 'ed25519',
      public_key: SIGNING_PUBLIC_KEY_HEX,
      label: 'prod-2026',
      valid: 1,
      invalid: 1,
    });
    expect(rep.trust).toMatchObject({ pinned_keys: 1, attestation_roots: 0, require_attestation: false });
  });

  it('--require-attestation fails records without a proven attestation', async () => {
    const d = scratchDir('erst-batch-att-');
    writeFileSync(join(d, 'r.jsonl'), `${JSON.stringify(await record2('2026-11-20'))}\n`);
    const r = await runBatch(['verify', join(d, 'r.jsonl'), ...PIN, '--require-attestation', '--json', '-', '-q']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Report).failures[0]!.code).toBe('ERR_ATTESTATION_REQUIRED');
  });

  it('with nothing pinned, valid means integrity only, and the summary says so', async () => {
    const d = scratchDir('erst-batch-nopin-');
    writeFileSync(join(d, 'r.jsonl'), `${JSON.stringify(await record2('2026-11-20'))}\n`);
    const r = await runBatch(['verify', join(d, 'r.jsonl')]);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('no key was pinned');
    expect(r.stdout).toMatch(/embedded-only 1/);
  });
});

describe('erst-batch: usage and errors', () => {
  it('bad usage exits 2 with a coded message and no stack trace', async () => {
    const d = scratchDir('erst-batch-usage-');
    writeFileSync(join(d, 'x.txt'), 'hello');
    const cases = [
      ['verify'],
      ['verify', d, '--shard', '0/3'],
      ['verify', d, '--shard', '4/3'],
      ['verify', d, '--workers', '0'],
      ['verify', d, '--state-key', join(d, 'k.pem')],
      ['verify', join(d, 'x.txt')],
      ['verify', d, '--trust', join(d, 'missing-trust.json')],
      ['verify', d, '--no-such-flag'],
      ['frobnicate'],
    ];
    for (const args of cases) {
      const r = await runBatch(args);
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr, args.join(' ')).toMatch(/^erst-batch: error ERR_[A-Z_]+: /m);
      expect(hasStackTrace(r.stderr), args.join(' ')).toBe(false);
    }
  });

  it('--help documents the exit codes', async () => {
    const r = await runBatch(['verify', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(
      /Exit codes:[\s\S]*0 {2}every record is valid[\s\S]*1 {2}a record failed[\s\S]*2 {2}unreadable input/,
    );
  });
});
