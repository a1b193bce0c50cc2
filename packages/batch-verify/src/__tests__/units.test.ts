import { describe, expect, it } from 'vitest';
import { barLengths, esc } from '../html.js';
import { junitXml, xmlAttr, xmlText } from '../junit.js';
import { mergeReports } from '../merge.js';
import type { VerifyResult } from '@erst/verify';
import { recordViews, timestampOf, utcDay } from '../outcome.js';
import type { RecordOutcome } from '../protocol.js';
import { type Report, ReportBuilder, exitCodeOf, trustSummary } from '../report.js';

const KEY = `ed25519:${'ab'.repeat(32)}`;

function outcome(valid: boolean, day: string | null = '2026-11-26', errors: [string, string][] = []): RecordOutcome {
  return {
    valid,
    format: '2.0.0',
    key: KEY,
    label: null,
    trust: valid ? 'pinned' : 'untrusted',
    day,
    timestamp: null,
    traceHash: 'cd'.repeat(32),
    contentHash: null,
    errors: valid ? [] : errors.length ? errors : [['ERR_SIGNATURE_INVALID', 'bad']],
    warnings: [],
  };
}

describe('report building', () => {
  it('does not depend on the order outcomes arrive in', () => {
    const trust = trustSummary({ publicKeys: ['ab'.repeat(32)] });
    const a = new ReportBuilder(['in'], null, trust);
    const b = new ReportBuilder(['in'], null, trust);
    const items: [string, RecordOutcome][] = [
      ['in/b', outcome(false)],
      ['in/a', outcome(true, '2026-11-25')],
      [
        'in/c',
        outcome(false, null, [
          ['ERR_HASH_MISMATCH', 'x'],
          ['ERR_SIGNATURE_INVALID', 'y'],
        ]),
      ],
    ];
    for (const [s, o] of items) a.record(s, 0, o);
    for (const [s, o] of [...items].reverse()) b.record(s, 0, o);
    expect(JSON.stringify(a.build())).toBe(JSON.stringify(b.build()));
    const r = a.build();
    expect(r.failures.map((f) => f.source)).toEqual(['in/b', 'in/c']);
    expect(r.failures[1]!.errors).toHaveLength(2);
    expect(r.by_day).toEqual({
      '2026-11-25': { valid: 1, invalid: 0 },
      '2026-11-26': { valid: 0, invalid: 1 },
      unknown: { valid: 0, invalid: 1 },
    });
  });

  it('exit codes: unreadable input beats failures, which beat success', () => {
    const base = { totals: { records: 1, valid: 1, invalid: 0, unreadable: 0 } };
    expect(exitCodeOf(base)).toBe(0);
    expect(exitCodeOf({ ...base, changed: ['x'] })).toBe(1);
    expect(exitCodeOf({ ...base, missing: ['x'] })).toBe(1);
    expect(exitCodeOf({ ...base, state: { status: 'tampered' } as Report['state'] })).toBe(1);
    expect(exitCodeOf({ totals: { records: 1, valid: 0, invalid: 1, unreadable: 1 } })).toBe(2);
  });

  it('the trust fingerprint ignores order and encoding, not content', () => {
    const hex = 'ab'.repeat(32);
    const pem = `-----BEGIN PUBLIC KEY-----\n${Buffer.concat([Buffer.from('302a300506032b6570032100', 'hex'), Buffer.from(hex, 'hex')]).toString('base64')}\n-----END PUBLIC KEY-----\n`;
    expect(trustSummary({ publicKeys: [hex] }).fingerprint).toBe(trustSummary({ publicKeys: [pem] }).fingerprint);
    expect(trustSummary({ publicKeys: [hex] }).fingerprint).not.toBe(
      trustSummary({ publicKeys: [hex], requireAttestation: true }).fingerprint,
    );
  });
});

describe('merge', () => {
  const trust = trustSummary({});
  function shard(k: number, sources: string[], unreadable = false): { name: string; report: Report } {
    const b = new ReportBuilder(['in', 'gone'], { index: k, count: 2 }, trust);
    for (const s of sources) b.record(s, 0, outcome(!s.includes('bad')));
    if (unreadable) b.unreadable('gone', 1, 'ERR_FILE_NOT_FOUND', 'gone: no such file', 'unreadable');
    return { name: `s${k}`, report: b.build() };
  }

  it('sums counts, unions failures and counts a shared unreadable input once', () => {
    const m = mergeReports([shard(2, ['in/z', 'in/bad2'], true), shard(1, ['in/a', 'in/bad1'], true)]);
    expect(m.totals).toEqual({ records: 4, valid: 2, invalid: 2, unreadable: 1 });
    expect(m.failures.map((f) => f.source)).toEqual(['gone', 'in/bad1', 'in/bad2']);
    expect(m.by_input).toEqual({
      gone: { valid: 0, invalid: 0, unreadable: 1 },
      in: { valid: 2, invalid: 2, unreadable: 0 },
    });
    expect(m.exit_code).toBe(2);
  });

  it('refuses a missing shard', () => {
    expect(() => mergeReports([shard(1, ['in/a'])])).toThrow(/2\/2 missing/);
  });
});

describe('escaping', () => {
  it('XML: markup, quotes, and characters XML cannot carry', () => {
    expect(xmlText('a<b>&c')).toBe('a&lt;b&gt;&amp;c');
    expect(xmlAttr(`"x'\n\t`)).toBe('&quot;x&apos;&#10;&#9;');
    expect(xmlText('nul\u0000 bell\u0007 lone\ud800 ok\u{1F600}')).toBe(
      'nul\\u0000 bell\\u0007 lone\\ud800 ok\u{1F600}',
    );
    expect(xmlText('\ufffe')).toBe('\\ufffe');
  });

  it('JUnit for a report with no failures is one passing case per input', () => {
    const b = new ReportBuilder(['in'], null, trustSummary({}));
    b.record('in/a', 0, outcome(true));
    const xml = junitXml(b.build());
    expect(xml).toContain('<testsuites name="erst-batch verify" tests="1" failures="0" errors="0"');
    expect(xml).toContain('name="1 of 1 records valid in in"');
  });

  it('HTML', () => {
    expect(esc(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    expect(esc('a\u0001b')).toBe('a\\u0001b');
  });
});

describe('utcDay', () => {
  it('takes the UTC day, whatever the offset and precision', () => {
    expect(utcDay('2026-11-26T12:00:41.620817785Z')).toBe('2026-11-26');
    expect(utcDay('2026-11-26T01:00:00+02:00')).toBe('2026-11-25');
    expect(utcDay('2026-11-26T23:30:00.123456-01:00')).toBe('2026-11-27');
    expect(utcDay(null)).toBeNull();
    expect(utcDay('garbage')).toBeNull();
    expect(utcDay('not a date, Z')).toBeNull();
  });
});

describe('HTML bars', () => {
  it('draws every nonzero count at least the minimum, and the whole bar within its width', () => {
    const [valid, invalid] = barLengths([3999, 1], 4000, 480);
    expect(invalid).toBeGreaterThanOrEqual(4);
    expect(valid! + invalid!).toBeLessThanOrEqual(480);
    const [none, one] = barLengths([0, 1], 4000, 480);
    expect(none).toBe(0);
    expect(one).toBeGreaterThanOrEqual(4);
    expect(barLengths([0, 0], 1, 480)).toEqual([0, 0]);
  });
});

describe('names from the archive as map keys', () => {
  it('an input and a day named "__proto__" are counted as entries, and nothing leaks onto Object.prototype', () => {
    const b = new ReportBuilder(['__proto__'], null, trustSummary({}));
    b.record('__proto__/x.json', 0, outcome(true, '__proto__'));
    b.unreadable('__proto__/y.json', 0, 'ERR_JSON_SYNTAX', 'bad', 'record');
    const r = b.build();
    expect(Object.hasOwn(r.by_input, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(r.by_input, '__proto__')?.value).toEqual({
      valid: 1,
      invalid: 1,
      unreadable: 0,
    });
    expect(JSON.parse(JSON.stringify(r)).by_input).toEqual(
      JSON.parse('{"__proto__":{"valid":1,"invalid":1,"unreadable":0}}'),
    );
    expect(({} as Record<string, unknown>).valid).toBeUndefined();
  });
});

describe('trusted timestamps', () => {
  const token = (verified: boolean) => ({
    timestamped_at: '2026-12-01T00:00:00.000Z',
    tsa: 'CN=T',
    accuracy: null,
    verified,
  });
  const log = (ts: ReturnType<typeof token> | null) => ({ timestamp: ts }) as unknown as VerifyResult['log'];

  it("a record is timestamped by its own verified token or its log proof's checkpoint's", () => {
    expect(timestampOf({ timestamp_token: null, log: null })).toBeNull();
    expect(timestampOf({ timestamp_token: token(true), log: null })).toBe('verified');
    expect(timestampOf({ timestamp_token: null, log: log(token(true)) })).toBe('verified');
    expect(timestampOf({ timestamp_token: token(false), log: log(token(true)) })).toBe('verified');
    expect(timestampOf({ timestamp_token: token(false), log: null })).toBe('unverified');
    expect(timestampOf({ timestamp_token: null, log: log(token(false)) })).toBe('unverified');
    expect(timestampOf({ timestamp_token: null, log: log(null) })).toBeNull();
  });

  it('counts by key and by day; a record that could not be read is a day-less record without a timestamp', () => {
    const b = new ReportBuilder(['in'], null, trustSummary({}));
    b.record('in/a', 0, { ...outcome(true), timestamp: 'verified' });
    b.record('in/b', 0, { ...outcome(false, '2026-11-25'), timestamp: 'unverified' });
    b.record('in/c', 0, outcome(true));
    b.unreadable('in/d', 0, 'ERR_JSON_SYNTAX', 'bad', 'record');
    expect(b.build().timestamps).toEqual({
      timestamped: 1,
      not_timestamped: 3,
      unverified: 1,
      by_key: { [KEY]: { timestamped: 1, not_timestamped: 2, unverified: 1 } },
      by_day: {
        '2026-11-25': { timestamped: 0, not_timestamped: 1, unverified: 1 },
        '2026-11-26': { timestamped: 1, not_timestamped: 1, unverified: 0 },
        unknown: { timestamped: 0, not_timestamped: 1, unverified: 0 },
      },
    });
  });

  it('merge refuses a report that counts timestamps with one that does not (ERR_OPTIONS_INVALID, `reports`)', () => {
    const shard = (k: number) => {
      const b = new ReportBuilder(['in'], { index: k, count: 2 }, trustSummary({}));
      b.record(`in/${k}`, 0, outcome(true));
      return { name: `s${k}`, report: b.build() };
    };
    const old = shard(2);
    delete old.report.timestamps;
    expect(() => mergeReports([shard(1), old])).toThrow(
      expect.objectContaining({
        code: 'ERR_OPTIONS_INVALID',
        details: expect.objectContaining({ options: ['reports'] }),
      }),
    );
    const both = shard(1);
    delete both.report.timestamps;
    expect(mergeReports([both, old]).timestamps).toBeUndefined();
  });
});

describe('recordViews', () => {
  it("gives each record's bytes as a view of the chunk's buffer, empty records included, without copying", () => {
    const buffer = new TextEncoder().encode('abcdef').buffer as ArrayBuffer;
    const views = recordViews(buffer, Uint32Array.of(2, 2, 6));
    expect(views.map((v) => new TextDecoder().decode(v))).toEqual(['ab', '', 'cdef']);
    expect(views.every((v) => v.buffer === buffer)).toBe(true);
    expect(recordViews(buffer, [])).toEqual([]);
  });
});
