import { copyFileSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { generateWithSigner } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, runBatch, runCli, tempDir } from '@erst/fixtures';
import { InMemorySigner, generateKeyPair } from '@erst/signer-memory';
import { afterAll, describe, expect, it } from 'vitest';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);

const made: string[] = [];
function scratch(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

let tx = 0;
function nextTx(): string {
  tx++;
  return tx.toString(16).padStart(64, 'c');
}

async function record(by: InMemorySigner = signer): Promise<string> {
  const r = await generateWithSigner(
    by,
    { transactionHash: nextTx(), payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: [], logs: [] } },
    { attestation: null },
  );
  return JSON.stringify(r);
}

interface BatchReport {
  exit_code: number;
  totals: { records: number; valid: number; invalid: number; unreadable: number };
  by_input: Record<string, { valid: number; invalid: number; unreadable: number }>;
  by_code: Record<string, number>;
  failures: { source: string; code: string; kind: string }[];
  missing?: string[];
  state?: {
    status: string;
    written: boolean;
    digests?: { file: string; sequence: number; digest: string; previous_digest: string | null }[];
  };
}

/** The stderr lines erst-batch must print for errors, whatever --quiet says. */
function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('erst-batch: error '));
}

describe('erst audit sign --batch --out file.jsonl: resume trusts only lines that verify', () => {
  const payloadLines = (n: number): string =>
    Array.from({ length: n }, (_, i) =>
      JSON.stringify({
        transaction_hash: nextTx(),
        payload: { envelope_xdr: 'AAAA', result_meta_xdr: `r${i}`, events: [], logs: [] },
      }),
    ).join('\n') + '\n';

  async function setup(n: number): Promise<{ d: string; input: string; out: string; key: string }> {
    const d = scratch('erst-adv-resume-');
    const input = join(d, 'in.jsonl');
    writeFileSync(input, payloadLines(n));
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    return { d, input, out: join(d, 'out.jsonl'), key };
  }

  function expectRefused(r: { code: number | null; stderr: string }, line: number): void {
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/error ERR_OUTPUT_WRITE:/);
    expect(r.stderr).toContain(`line ${line} `);
    expect(r.stderr).not.toMatch(/already signed/);
  }

  it('an output file that is the unsigned input is refused (exit 2), not "20 already signed", and left as it was', async () => {
    const { input, out, key } = await setup(20);
    copyFileSync(input, out);
    const before = readFileSync(out);
    const r = await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key]);
    expectRefused(r, 1);
    expect(readFileSync(out).equals(before)).toBe(true);
  });

  it('an output file signed with another key is refused, left as it was', async () => {
    const { d, input, out, key } = await setup(5);
    const other = join(d, 'other.pem');
    writeFileSync(other, generateKeyPair().pkcs8Pem, { mode: 0o600 });
    expect((await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', other])).code).toBe(0);
    const before = readFileSync(out);
    const r = await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key]);
    expectRefused(r, 1);
    expect(readFileSync(out).equals(before)).toBe(true);
  });

  it('an edited line is refused by its line number, and the torn last line after it is not cut', async () => {
    const { input, out, key } = await setup(5);
    expect((await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key])).code).toBe(0);
    const lines = readFileSync(out, 'utf8').trimEnd().split('\n');
    lines[2] = lines[2]!.replace('"envelope_xdr":"AAAA"', '"envelope_xdr":"AAAB"');
    const edited = `${lines.slice(0, 4).join('\n')}\n${lines[4]!.slice(0, 40)}`;
    writeFileSync(out, edited);
    const r = await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key]);
    expectRefused(r, 3);
    expect(readFileSync(out, 'utf8')).toBe(edited);
  });

  it('1.x output: a line whose (unsigned) transaction_hash was changed does not count as that transaction signed', async () => {
    const { input, out, key } = await setup(5);
    const txs = readFileSync(input, 'utf8')
      .trimEnd()
      .split('\n')
      .map((l) => (JSON.parse(l) as { transaction_hash: string }).transaction_hash);
    expect(
      (await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key, '--schema', '1.1.0'])).code,
    ).toBe(0);
    // As if the run died before the last transaction, and someone relabelled another line as it.
    const lines = readFileSync(out, 'utf8')
      .trimEnd()
      .split('\n')
      .filter((l) => !l.includes(txs[4]!));
    const i = lines.findIndex((l) => l.includes(txs[1]!));
    lines[i] = lines[i]!.replace(txs[1]!, txs[4]!);
    writeFileSync(out, `${lines.join('\n')}\n`);
    const r = await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key, '--schema', '1.1.0']);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toMatch(/line 5: error ERR_OUTPUT_WRITE:/);
    expect(r.stderr).not.toMatch(/4 already signed/);
  });

  it('a rerun over its own output, cut mid-line, still resumes: every transaction exactly once', async () => {
    const { input, out, key } = await setup(6);
    expect((await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key])).code).toBe(0);
    const text = readFileSync(out, 'utf8');
    writeFileSync(out, text.slice(0, text.length - 30));
    const r = await runCli(['audit', 'sign', '--batch', input, '--out', out, '--key-file', key]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/1 signed, 5 already signed/);
    const v = await runBatch(['verify', out, ...PIN, '--json', '-', '-q']);
    const report = JSON.parse(v.stdout) as BatchReport;
    expect(report.totals).toEqual({ records: 6, valid: 6, invalid: 0, unreadable: 0 });
  });
});

describe('erst-batch --state: rolling back to an older signed state', () => {
  async function night(d: string, logs: string, extra: string[] = []) {
    const r = await runBatch([
      'verify',
      logs,
      ...PIN,
      '--state',
      join(d, 'state.json'),
      '--state-key',
      join(d, 'state.pem'),
      '--json',
      '-',
      '-q',
      ...extra,
    ]);
    return { code: r.code, stderr: r.stderr, report: JSON.parse(r.stdout) as BatchReport };
  }

  it('is caught with --expect-state (ERR_STATE_ROLLBACK, exit 1); each run prints the digest to pin', async () => {
    const d = scratch('erst-adv-rollback-');
    const logs = join(d, 'logs');
    mkdirSync(logs);
    for (const n of ['a', 'b']) writeFileSync(join(logs, `${n}.json`), await record());
    writeFileSync(join(d, 'state.pem'), generateKeyPair().pkcs8Pem, { mode: 0o600 });

    const first = await night(d, logs, ['--init-state']);
    expect(first.code).toBe(0);
    const d1 = first.report.state!.digests![0]!;
    expect(d1.sequence).toBe(1);
    expect(first.stderr).toContain(`digest ${d1.digest}`);
    copyFileSync(join(d, 'state.json'), join(d, 'old-state.json'));

    writeFileSync(join(logs, 'late.json'), await record());
    const second = await night(d, logs, ['--expect-state', d1.digest]);
    expect(second.code).toBe(0);
    const d2 = second.report.state!.digests![0]!;
    expect(d2).toMatchObject({ sequence: 2, previous_digest: d1.digest });

    // The attack: delete a log, and put back the older, validly signed state that never saw it.
    rmSync(join(logs, 'late.json'));
    copyFileSync(join(d, 'old-state.json'), join(d, 'state.json'));
    const blind = await night(d, logs);
    // Without the pinned digest the state alone cannot tell (docs/batch.md says so).
    expect(blind.report.missing).toEqual([]);
    copyFileSync(join(d, 'old-state.json'), join(d, 'state.json'));

    const pinned = await night(d, logs, ['--expect-state', d2.digest]);
    expect(pinned.code).toBe(1);
    expect(pinned.report.failures.map((f) => f.code)).toContain('ERR_STATE_ROLLBACK');
    expect(errorLines(pinned.stderr).some((l) => l.startsWith('erst-batch: error ERR_STATE_ROLLBACK:'))).toBe(true);
    expect(pinned.report.state).toMatchObject({ status: 'tampered', written: false });
    expect(readFileSync(join(d, 'state.json')).equals(readFileSync(join(d, 'old-state.json')))).toBe(true);
  });

  it('a state file deleted under --expect-state is a rollback too', async () => {
    const d = scratch('erst-adv-rollback-gone-');
    const logs = join(d, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, 'a.json'), await record());
    writeFileSync(join(d, 'state.pem'), generateKeyPair().pkcs8Pem, { mode: 0o600 });
    const first = await night(d, logs, ['--init-state']);
    rmSync(join(d, 'state.json'));
    const r = await night(d, logs, ['--init-state', '--expect-state', first.report.state!.digests![0]!.digest]);
    expect(r.code).toBe(1);
    expect(r.report.failures.map((f) => f.code)).toContain('ERR_STATE_ROLLBACK');
  });
});

describe('erst-batch: silence never reads as success', () => {
  const emptyTar = Buffer.alloc(1024);
  const cases: [string, (d: string) => string][] = [
    [
      'an empty directory',
      (d) => {
        mkdirSync(join(d, 'mnt'));
        return join(d, 'mnt');
      },
    ],
    [
      'an empty .tar',
      (d) => {
        writeFileSync(join(d, 'empty.tar'), emptyTar);
        return join(d, 'empty.tar');
      },
    ],
    [
      'a .tar.gz of zeros',
      (d) => {
        writeFileSync(join(d, 'zeros.tar.gz'), gzipSync(Buffer.alloc(10240)));
        return join(d, 'zeros.tar.gz');
      },
    ],
  ];
  for (const [what, make] of cases) {
    it(`${what}: exit 2, ERR_ARCHIVE_EMPTY on stderr even with -q; --allow-empty passes`, async () => {
      const d = scratch('erst-adv-empty-');
      const input = make(d);
      const r = await runBatch(['verify', input, ...PIN, '-q']);
      expect(r.code).toBe(2);
      expect(errorLines(r.stderr)).toEqual([expect.stringMatching(/^erst-batch: error ERR_ARCHIVE_EMPTY: /)]);
      const ok = await runBatch(['verify', input, ...PIN, '-q', '--allow-empty']);
      expect(ok.code).toBe(0);
    });
  }

  it('an unmounted directory beside a full one still fails the run', async () => {
    const d = scratch('erst-adv-empty-');
    mkdirSync(join(d, 'full'));
    mkdirSync(join(d, 'mnt'));
    writeFileSync(join(d, 'full', 'a.json'), await record());
    const r = await runBatch(['verify', join(d, 'full'), join(d, 'mnt'), ...PIN, '--json', '-', '-q']);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as BatchReport;
    expect(report.failures).toEqual([
      expect.objectContaining({ source: join(d, 'mnt'), code: 'ERR_ARCHIVE_EMPTY', kind: 'unreadable' }),
    ]);
  });

  it('-q does not hide a missing input: one coded line on stderr, exit 2', async () => {
    const d = scratch('erst-adv-quiet-');
    const r = await runBatch(['verify', join(d, 'not-there'), ...PIN, '-q']);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(errorLines(r.stderr)).toHaveLength(1);
    expect(r.stderr).toMatch(/^erst-batch: error ERR_[A-Z_]+: .*not-there/m);
  });
});

describe('erst-batch: "__proto__" from the archive is an ordinary name', () => {
  it('a directory and a file named __proto__ are counted and reported; the file, deleted, is reported missing', async () => {
    const d = scratch('erst-adv-proto-');
    const dir = join(d, '__proto__');
    mkdirSync(dir);
    writeFileSync(join(dir, '__proto__.json'), await record());
    writeFileSync(join(dir, 'other.json'), (await record()).replace('"AAAA"', '"AAAB"'));
    const run = async () => {
      const r = await runBatch(['verify', '__proto__', ...PIN, '--state', join(d, 'state.json'), '--json', '-', '-q'], {
        cwd: d,
      });
      return { code: r.code, report: JSON.parse(r.stdout) as BatchReport };
    };
    const first = await run();
    expect(first.code).toBe(1);
    expect(Object.hasOwn(first.report.by_input, '__proto__')).toBe(true);
    expect(Object.getOwnPropertyDescriptor(first.report.by_input, '__proto__')?.value).toEqual({
      valid: 1,
      invalid: 1,
      unreadable: 0,
    });
    expect(first.report.totals).toEqual({ records: 2, valid: 1, invalid: 1, unreadable: 0 });

    rmSync(join(dir, '__proto__.json'));
    const second = await run();
    expect(second.report.missing).toEqual(['__proto__/__proto__.json']);
  });
});
