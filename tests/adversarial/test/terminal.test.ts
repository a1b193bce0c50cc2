import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO_ROOT,
  type RunResult,
  SIGNING_KEY_PEM,
  SIGNING_PUBLIC_KEY_HEX,
  readVectorLines,
  run,
  runBatch,
  runCli,
  tempDir,
  vectorPath,
} from '@erst/fixtures';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// What a hostile record, file name or report tries to draw on the terminal:
// erase the error line, move up, and print a verdict of its own.
const FAKE = '\n\u001b[2K\u001b[1A VALID (trust pinned)';
const BIDI = 'evil\u202egnp.json';
const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PIN = '4711-0815-erst';
const TX = 'ab'.repeat(32);
const PAYLOAD = { envelope_xdr: 'AAAA', result_meta_xdr: 'AAAA', events: [], logs: [] };

/** Bytes that drive a terminal (ESC, CSI, CR, ...; newline is checked apart), and bidi controls. */
const DRIVES_TERMINAL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/;

/** Nothing from the hostile text reached the terminal raw: no control byte, and no line of its own. */
function inert(r: RunResult): void {
  for (const out of [r.stdout, r.stderr]) {
    expect(out).not.toMatch(DRIVES_TERMINAL);
    for (const line of out.split('\n')) expect(line.startsWith(' VALID'), line).toBe(false);
  }
}

let dir: string;
let keyFile: string;
let good: string;
beforeAll(async () => {
  dir = tempDir('erst-adv-terminal-');
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
  good = join(dir, 'good.json');
  const s = await runCli([
    'audit',
    'sign',
    '--key-file',
    keyFile,
    '--payload',
    JSON.stringify({ transaction_hash: TX, payload: PAYLOAD }),
    '--out',
    good,
  ]);
  expect(s.code, s.stderr).toBe(0);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function write(name: string, value: unknown): string {
  const file = join(dir, name);
  writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
  return file;
}

/** A 1.1.0 record made by erst's Go code, with one field the format does not know. */
function goRecordWithField(name: string): string {
  const rec = JSON.parse(readVectorLines('erst-go-1.1.0.jsonl')[0]!) as Record<string, unknown>;
  rec[name] = 1;
  return JSON.stringify(rec);
}

/** A 2.0.0 record with one more field (covered by the signature, so it no longer verifies). */
function v2RecordWithField(name: string): string {
  const rec = JSON.parse(readFileSync(good, 'utf8')) as Record<string, unknown>;
  rec[name] = 1;
  return JSON.stringify(rec);
}

describe('erst audit verify and inspect: control characters from records and file names', () => {
  it('an unknown field name cannot draw a fake verdict in verify (exit 2, escaped on one line)', async () => {
    const file = write('unknown-field.json', goRecordWithField(`x${FAKE}`));
    const r = await runCli(['audit', 'verify', file, '--public-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('ERR_RECORD_FIELD_UNKNOWN');
    expect(r.stdout).toContain('\\u001b[2K');
    inert(r);
  });

  it('nor in inspect, as an error or as a signed field name', async () => {
    const bad = await runCli(['audit', 'inspect', write('unknown-field-1.json', goRecordWithField(`x${FAKE}`))]);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/^erst: error ERR_RECORD_FIELD_UNKNOWN: .*\n$/);
    inert(bad);
    const listed = await runCli(['audit', 'inspect', write('extra-field-2.json', v2RecordWithField(`x${FAKE}`))]);
    expect(listed.code).toBe(0);
    expect(listed.stdout).toContain('\\u000a\\u001b[2K');
    inert(listed);
  });

  it('--json output stays JSON and carries the field name exactly', async () => {
    const r = await runCli([
      'audit',
      'verify',
      write('unknown-field-json.json', goRecordWithField(`x${FAKE}`)),
      '--json',
    ]);
    expect(r.code).toBe(2);
    const out = JSON.parse(r.stdout) as { results: { errors: { message: string }[] }[] };
    expect(out.results[0]!.errors[0]!.message).toContain(`x${FAKE}`);
  });

  it('file names with control and bidi characters are shown escaped, found or not', async () => {
    const named = join(dir, `log${FAKE}.json`);
    writeFileSync(named, readFileSync(good));
    const bidi = write(BIDI, readFileSync(good, 'utf8'));
    const r = await runCli([
      'audit',
      'verify',
      named,
      bidi,
      join(dir, `missing${FAKE}.json`),
      '--public-key',
      SIGNING_PUBLIC_KEY_HEX,
    ]);
    expect(r.code).toBe(2);
    expect(r.stdout).toContain('\\u202e');
    inert(r);
    const i = await runCli(['audit', 'inspect', named]);
    expect(i.code).toBe(0);
    inert(i);
  });

  it('sign --payload @file: neither the file name nor a field name in the file reaches the terminal raw', async () => {
    const missing = await runCli([
      'audit',
      'sign',
      '--key-file',
      keyFile,
      '--payload',
      `@${join(dir, `nope${FAKE}.json`)}`,
    ]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/^erst: error ERR_FILE_NOT_FOUND: .*\n$/);
    inert(missing);
    const doc = write('doc.json', { transaction_hash: TX, payload: { ...PAYLOAD, [`x${FAKE}`]: 1 } });
    const r = await runCli(['audit', 'sign', '--key-file', keyFile, '--payload', `@${doc}`, '--schema', '1.1.0']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^erst: error ERR_[A-Z_]+: .*\n$/);
    inert(r);
  });
});

describe('erst audit sign --batch: a bad line is reported on one escaped line', () => {
  it('a field name in the line and the input file name (exit 2)', async () => {
    const lines = [{ transaction_hash: TX, payload: { ...PAYLOAD, [`x${FAKE}`]: 1 } }]
      .map((l) => JSON.stringify(l))
      .join('\n');
    const input = write(`batch${FAKE}.jsonl`, `${lines}\n`);
    const out = join(dir, 'batch-out');
    const r = await runCli([
      'audit',
      'sign',
      '--key-file',
      keyFile,
      '--batch',
      input,
      '--out-dir',
      out,
      '--schema',
      '1.1.0',
      '--quiet',
    ]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/line 1: error ERR_[A-Z_]+: /);
    inert(r);
  });
});

describe('erst audit verify: files that cannot be read', () => {
  it('a missing file and a directory are one-line errors on stderr; the other files are still verified; exit 2', async () => {
    const missing = join(dir, 'no-such.json');
    const r = await runCli(['audit', 'verify', missing, dir, good, '--public-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(r.code).toBe(2);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('erst: error '));
    expect(errors).toHaveLength(2);
    expect(errors[0]).toMatch(/^erst: error ERR_FILE_NOT_FOUND: /);
    expect(errors[1]).toMatch(/^erst: error ERR_FILE_IS_DIRECTORY: /);
    expect(r.stdout).not.toContain(missing);
    expect(r.stdout).not.toContain('FAIL');
    expect(r.stdout).toMatch(/^ok {3}.*good\.json: VALID/m);
  });

  it('one missing file alone: the documented line, nothing on stdout, exit 2', async () => {
    const r = await runCli(['audit', 'verify', join(dir, 'gone.json')]);
    expect(r.code).toBe(2);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^erst: error ERR_FILE_NOT_FOUND: .*gone\.json: no such file\n$/);
  });

  it('an unreadable file wins over an invalid record (exit 2); an invalid record alone is exit 1', async () => {
    const invalid = write('invalid.json', v2RecordWithField('extra'));
    const both = await runCli(['audit', 'verify', invalid, join(dir, 'gone.json')]);
    expect(both.code).toBe(2);
    expect(both.stdout).toContain('FAIL');
    const one = await runCli(['audit', 'verify', invalid]);
    expect(one.code).toBe(1);
  });
});

describe('secrets typed in the wrong place are never printed back', () => {
  const doc = JSON.stringify({ transaction_hash: TX, payload: PAYLOAD });
  const cases: [string, string[], number][] = [
    ['a seed given as --key-file', ['audit', 'sign', '--key-file', SEED, '--payload', doc], 3],
    ['a PEM key given as --key-file', ['audit', 'sign', '--key-file', SIGNING_KEY_PEM, '--payload', doc], 2],
    ['a seed given as a positional', ['keys', 'public', '--key-file', 'key.pem', SEED], 2],
    ['a PEM key given as a positional', ['keys', 'public', SIGNING_KEY_PEM], 2],
    ['a seed given as a choice flag', ['audit', 'sign', '--hsm-provider', SEED], 2],
    ['a seed given as a command', [SEED], 2],
    ['a PIN given as --pin-file', ['hsm', 'info', '--pkcs11-module', '/nonexistent/lib.so', '--pin-file', PIN], 3],
  ];
  for (const [what, args, code] of cases) {
    it(`erst: ${what} (exit ${code})`, async () => {
      const r = await runCli(args, {
        env: { ERST_AUDIT_PRIVATE_KEY_PEM: undefined, ERST_SOFTWARE_PRIVATE_KEY_HEX: undefined },
      });
      expect(r.code, r.stderr).toBe(code);
      expect(r.stderr).toMatch(/^erst: error ERR_[A-Z0-9_]+: .*\n$/);
      for (const out of [r.stdout, r.stderr]) {
        expect(out).not.toContain(SEED.slice(0, 16));
        expect(out).not.toContain(PIN);
        expect(out).not.toContain('MC4CAQAw');
        expect(out).not.toContain('BEGIN PRIVATE KEY');
      }
    });
  }

  it('erst-batch: a seed given as a command or an argument', async () => {
    for (const args of [[SEED], ['merge', '--bogus', SEED]]) {
      const r = await runBatch(args);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^erst-batch: error ERR_USAGE: /);
      expect(r.stderr + r.stdout).not.toContain(SEED.slice(0, 16));
    }
  });

  it('an unknown flag is still named, so a typo can be fixed', async () => {
    const r = await runCli(['audit', 'verify', good, '--pubic-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--pubic-key');
  });
});

describe('PEM text as a flag value', () => {
  let pem: string;
  beforeAll(async () => {
    const r = await runCli(['keys', 'public', '--key-file', keyFile, '--pem']);
    expect(r.code).toBe(0);
    pem = r.stdout;
  });

  it('erst audit verify --public-key "<PEM>" pins the key, before or after the file (exit 0)', async () => {
    for (const args of [
      [good, '--public-key', pem],
      ['--public-key', pem, good],
      ['--public-key', SIGNING_PUBLIC_KEY_HEX, good],
    ]) {
      const r = await runCli(['audit', 'verify', ...args]);
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toContain('trust pinned');
    }
  });

  it('--attestation-root takes PEM text as well as a path (exit 0)', async () => {
    const root = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');
    const r = await runCli(['audit', 'verify', good, '--public-key', pem, '--attestation-root', root]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('erst audit sign --software-private-key "<PEM>" signs (exit 0)', async () => {
    const r = await runCli([
      'audit',
      'sign',
      '--software-private-key',
      SIGNING_KEY_PEM,
      '--payload',
      JSON.stringify({ transaction_hash: TX, payload: PAYLOAD }),
    ]);
    expect(r.code, r.stderr).toBe(0);
  });

  it('erst-batch verify --public-key "<PEM>" (exit 0)', async () => {
    const archive = join(dir, 'archive');
    mkdirSync(archive, { recursive: true });
    writeFileSync(join(archive, 'a.json'), readFileSync(good));
    const r = await runBatch(['verify', '--public-key', pem, archive, '-q']);
    expect(r.code, r.stderr).toBe(0);
  });
});

describe('erst-batch merge: reports are files too', () => {
  async function shardReport(): Promise<Record<string, unknown>> {
    const archive = join(dir, 'merge-archive');
    mkdirSync(archive, { recursive: true });
    writeFileSync(join(archive, 'a.json'), readFileSync(good));
    writeFileSync(join(archive, 'b.json'), v2RecordWithField('extra'));
    const r = await runBatch(['verify', archive, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--json', '-', '-q']);
    expect(r.code).toBe(1);
    return JSON.parse(r.stdout) as Record<string, unknown>;
  }

  it('names and messages in a report are shown escaped in the summary', async () => {
    const report = await shardReport();
    const failures = report.failures as { source: string; message: string }[];
    failures[0]!.source = `b.json${FAKE}\u202e`;
    failures[0]!.message = `bad${FAKE}`;
    (report.by_key as Record<string, { label?: string }>)[`ed25519:${SIGNING_PUBLIC_KEY_HEX}`]!.label = `prod${FAKE}`;
    const r = await runBatch(['merge', write('report-names.json', report)]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('\\u001b[2K');
    inert(r);
  });

  it('a report that puts text where erst-batch writes codes or counts is refused (exit 2), escaped', async () => {
    const report = await shardReport();
    (report.by_code as Record<string, number>)[`ERR${FAKE}`] = 1;
    const r = await runBatch(['merge', write(`report${FAKE}.json`, report)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^erst-batch: error ERR_USAGE: .*\n$/);
    inert(r);
  });

  it('a report that is not JSON is refused without quoting it (exit 2)', async () => {
    const r = await runBatch(['merge', write('not-json.json', `{"erst_batch_report": 1 ${FAKE}`)]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/^erst-batch: error ERR_USAGE: .*not JSON\n$/);
    expect(r.stderr).not.toContain('VALID');
    inert(r);
  });
});

describe('erst-batch: the error line under -q is escaped', () => {
  it('a missing input whose name holds control characters (exit 2)', async () => {
    const r = await runBatch(['verify', join(dir, `gone${FAKE}`), '-q']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('\\u001b[2K');
    inert(r);
  });
});

describe('PKCS#11: a module that will not start says what to check', () => {
  it('SOFTHSM2_CONF naming a missing file: exit 3, ERR_PKCS11_MODULE, naming SOFTHSM2_CONF and the file', async () => {
    const conf = join(dir, 'no-such-softhsm2.conf');
    const r = await runCli(['hsm', 'info', '--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so'], {
      env: { SOFTHSM2_CONF: conf },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toMatch(/^erst: error ERR_PKCS11_MODULE: .*CKR_GENERAL_ERROR.*\n$/);
    expect(r.stderr).toContain(`SOFTHSM2_CONF ${conf} does not exist`);
  });

  it('a token directory that does not exist: named', async () => {
    const tokens = join(dir, 'no-tokens-here');
    const conf = write('softhsm2.conf', `directories.tokendir = ${tokens}\nobjectstore.backend = file\n`);
    const r = await runCli(['hsm', 'info', '--pkcs11-module', '/usr/lib/softhsm/libsofthsm2.so'], {
      env: { SOFTHSM2_CONF: conf },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain(`directories.tokendir ${tokens}`);
  });
});

describe('--help on a real terminal (a pty from script(1))', () => {
  /** The help lines as a terminal this many columns wide shows them. */
  async function helpOnTerminal(bin: 'erst' | 'erst-batch', args: string, columns: number): Promise<string[]> {
    const path = join(REPO_ROOT, 'node_modules', '.bin', bin);
    const r = await run('script', ['-qec', `stty cols ${columns}; '${path}' ${args} --help`, '/dev/null']);
    expect(r.code, r.stderr).toBe(0);
    return r.stdout
      .replace(/\r/g, '')
      .split('\n')
      .map((l) => l.trimEnd());
  }

  for (const [bin, args, flag] of [
    ['erst', 'audit sign', '--hsm-provider'],
    ['erst-batch', 'verify', '--shard'],
  ] as const) {
    it(`${bin} ${args}: fills 200 columns, and keeps within 80 at 80 without cutting a word`, async () => {
      const wide = await helpOnTerminal(bin, args, 200);
      const row = wide.find((l) => l.includes(flag))!;
      expect(row.length).toBeGreaterThan(110);
      expect(row).toMatch(/\[string\]/);
      const narrow = await helpOnTerminal(bin, args, 80);
      for (const line of narrow) expect(line.length, line).toBeLessThanOrEqual(80);
      const words = new Set(narrow.join(' ').split(/\s+/));
      for (const word of wide.join(' ').split(/\s+/))
        if (/^--[a-z]|^ERST_/.test(word)) expect(words.has(word), word).toBe(true);
    });
  }
});
