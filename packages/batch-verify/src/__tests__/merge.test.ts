import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { mergeReports, readReport } from '../merge.js';
import type { RecordOutcome } from '../protocol.js';
import { type Report, ReportBuilder, trustSummary } from '../report.js';

const ESC = '\u001b[2K\u001b[1A';

function outcome(valid: boolean): RecordOutcome {
  return {
    valid,
    format: '2.0.0',
    key: `ed25519:${'ab'.repeat(32)}`,
    label: null,
    trust: valid ? 'pinned' : 'untrusted',
    day: '2026-11-26',
    timestamp: null,
    traceHash: 'cd'.repeat(32),
    contentHash: null,
    errors: valid ? [] : [['ERR_SIGNATURE_INVALID', 'bad']],
    warnings: [],
  };
}

/** Shard k of 2, as erst-batch writes it (a JSON round trip, like a file). */
function shardReport(k: number, inputs = ['in']): Report {
  const b = new ReportBuilder(inputs, { index: k, count: 2 }, trustSummary({}));
  b.record(`in/r${k}.json`, 0, outcome(true));
  b.record(`in/bad${k}.json`, 0, outcome(false));
  return JSON.parse(JSON.stringify(b.build())) as Report;
}

function save(value: unknown): string {
  const file = join(tempDir('erst-merge-'), 'shard.json');
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

function refusal(file: string): { code: string; message: string; details?: unknown } {
  try {
    readReport(file);
  } catch (e) {
    return e as { code: string; message: string; details?: unknown };
  }
  throw new Error('the report was accepted');
}

describe('readReport', () => {
  it('reads a report erst-batch wrote', () => {
    const r = shardReport(1);
    expect(readReport(save(r))).toEqual(r);
  });

  it('refuses a file that is not JSON without quoting it', () => {
    const e = refusal(save(`{"erst_batch_report": 1, ${ESC} VALID`));
    expect(e.code).toBe('ERR_OPTIONS_INVALID');
    expect(e.details).toMatchObject({ options: ['reports'] });
    expect(e.message).not.toContain('VALID');
    expect(e.message).not.toContain('\u001b');
  });

  // The human summary prints these names as they are: a report must not smuggle text into them.
  const tampered: [string, (r: Report) => void][] = [
    [
      'a code that is not a code',
      (r) => {
        r.by_code[`X${ESC}`] = 1;
      },
    ],
    [
      'a format that is not a format',
      (r) => {
        r.by_format[`2.0.0\n${ESC}`] = { valid: 1, invalid: 0 };
      },
    ],
    [
      'a key id that is not a key id',
      (r) => {
        r.by_key[`ed25519:${ESC}`] = { valid: 1, invalid: 0, algorithm: 'ed25519', public_key: '' };
      },
    ],
    [
      'a trust level that is not one',
      (r) => {
        r.by_trust[`pinned${ESC}`] = 1;
      },
    ],
    [
      'a warning that is not a code',
      (r) => {
        r.warnings[`W\n`] = 1;
      },
    ],
    [
      'a failure code that is not a code',
      (r) => {
        r.failures[0]!.code = `ERR${ESC}`;
      },
    ],
    [
      'a count that is text',
      (r) => {
        (r.totals as Record<string, unknown>).records = ESC;
      },
    ],
    [
      'counts that are text',
      (r) => {
        (r.by_code as Record<string, unknown>).ERR_SIGNATURE_INVALID = ESC;
      },
    ],
    [
      'a timestamp day that is not a day',
      (r) => {
        r.timestamps!.by_day[`2026${ESC}`] = { timestamped: 1, not_timestamped: 0, unverified: 0 };
      },
    ],
    [
      'timestamp counts that do not count every record',
      (r) => {
        r.timestamps!.timestamped += 1;
      },
    ],
    [
      'more unverified tokens than records not timestamped',
      (r) => {
        r.timestamps!.by_key[`ed25519:${'ab'.repeat(32)}`]!.unverified = 5;
      },
    ],
    [
      'a shard that is not K/N',
      (r) => {
        r.shard = `1/2${ESC}`;
      },
    ],
  ];
  for (const [what, change] of tampered) {
    it(`refuses a report with ${what} (ERR_OPTIONS_INVALID, \`reports\`)`, () => {
      const r = shardReport(1);
      change(r);
      expect(refusal(save(r))).toMatchObject({ code: 'ERR_OPTIONS_INVALID', details: { options: ['reports'] } });
    });
  }
});

describe('mergeReports', () => {
  it('keeps an input named "__proto__" as an entry, counted once per shard', () => {
    const names = ['__proto__'];
    const merged = mergeReports(
      [1, 2].map((k) => ({ name: `s${k}`, report: readReport(save(shardReport(k, names))) })),
    );
    expect(Object.entries(merged.by_input)).toEqual([['__proto__', { valid: 2, invalid: 2, unreadable: 0 }]]);
    expect(merged.totals).toEqual({ records: 4, valid: 2, invalid: 2, unreadable: 0 });
  });
});

describe('a report that checked a log', () => {
  /** An unsharded run's report with a log section, as `runVerify` with `log` writes it. */
  function loggedReport(): Report {
    const b = new ReportBuilder(['in'], null, trustSummary({ logKeys: ['audit.test/log+00000000+AAAA'] }));
    b.record('in/r.json', 0, outcome(true));
    return JSON.parse(
      JSON.stringify(
        b.build(undefined, {
          source: 'log',
          status: 'verified',
          origin: 'audit.test/log',
          size: 1,
          root: `${'A'.repeat(43)}=`,
          records_in_log: 1,
          missing: [],
          not_in_log: [],
          checkpoints: 1,
          inconsistent_checkpoints: [],
          previous: null,
          consistent: null,
        }),
      ),
    ) as Report;
  }

  it('is not merged: completeness against a log is one whole run (ERR_OPTIONS_INVALID naming `reports`)', () => {
    const a = loggedReport();
    let caught: { code?: string; details?: unknown } | undefined;
    try {
      mergeReports([
        { name: 'a.json', report: a },
        { name: 'b.json', report: a },
      ]);
    } catch (e) {
      caught = e as { code?: string; details?: unknown };
    }
    expect(caught?.code).toBe('ERR_OPTIONS_INVALID');
    expect(caught?.details).toEqual({ options: ['reports'], report: 'a.json' });
  });

  it('fails the run (exit 1) when the log did not verify, and is exit 2 when it could not be read', () => {
    const a = loggedReport();
    expect(a.exit_code).toBe(0);
    const b = new ReportBuilder(['in'], null, trustSummary({}));
    expect(b.build(undefined, { ...a.log!, status: 'failed' }).exit_code).toBe(1);
    expect(b.build(undefined, { ...a.log!, status: 'unreadable' }).exit_code).toBe(2);
  });

  it('log keys are part of the trust fingerprint, and leave it as it was when there are none', () => {
    expect(trustSummary({ logKeys: ['audit.test/log+00000000+AAAA'] }).fingerprint).not.toBe(
      trustSummary({}).fingerprint,
    );
    expect(trustSummary({ logKeys: [] }).fingerprint).toBe(trustSummary({}).fingerprint);
  });

  it('TSA roots and require_timestamp are part of the trust fingerprint and summary, and absent when unused', () => {
    const ROOT_A = '-----BEGIN CERTIFICATE-----\nMIIBroot-a\n-----END CERTIFICATE-----';
    const ROOT_B = '-----BEGIN CERTIFICATE-----\nMIIBroot-b\n-----END CERTIFICATE-----';
    const none = trustSummary({});
    expect(none).not.toHaveProperty('tsa_roots');
    expect(none).not.toHaveProperty('require_timestamp');
    expect(trustSummary({ tsaRoots: [] }).fingerprint).toBe(none.fingerprint);
    const a = trustSummary({ tsaRoots: [ROOT_A] });
    expect(a).toMatchObject({ tsa_roots: 1, require_timestamp: false });
    expect(a.fingerprint).not.toBe(none.fingerprint);
    expect(trustSummary({ tsaRoots: [ROOT_B] }).fingerprint).not.toBe(a.fingerprint);
    // From a trust file or an option, in any order: the same material, the same fingerprint.
    const viaFile = trustSummary({
      trust: [{ keys: [], attestationRoots: [], requireAttestation: false, tsaRoots: [ROOT_B] }],
      tsaRoots: [ROOT_A],
    });
    expect(viaFile.fingerprint).toBe(trustSummary({ tsaRoots: [ROOT_B, ROOT_A] }).fingerprint);
    expect(viaFile.tsa_roots).toBe(2);
    const required = trustSummary({ requireTimestamp: true });
    expect(required).toMatchObject({ tsa_roots: 0, require_timestamp: true });
    expect(required.fingerprint).not.toBe(none.fingerprint);
  });
});
