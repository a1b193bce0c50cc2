import { readFileSync, statSync, writeFileSync, existsSync, readdirSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import {
  REPO_ROOT,
  SIGNING_KEY_PEM,
  SIGNING_PUBLIC_KEY_HEX,
  readVectorLines,
  run,
  runCli,
  tempDir,
  vectorPath,
} from '@erst/fixtures';
import { beforeAll, describe, expect, it } from 'vitest';

const TX = '530ea1ea71c0810d3e19206c17a2a497101a832a8108bc83d5f6c3c699e520b8';
const PAYLOAD = {
  envelope_xdr: 'AAAAAgAAAAA=',
  result_meta_xdr: 'AAAAAwAAAAA=',
  events: ['<ev> & "q"'],
  logs: ['log\u2028line'],
};
const DOC = JSON.stringify({ transaction_hash: TX, payload: PAYLOAD });

let dir: string;
let keyFile: string;
beforeAll(() => {
  dir = tempDir('erst-cli-');
  keyFile = join(dir, 'key.pem');
  writeFileSync(keyFile, SIGNING_KEY_PEM, { mode: 0o600 });
});

function noStack(text: string): void {
  expect(text).not.toMatch(/\n\s+at .+:\d+:\d+/);
}

describe('erst audit sign / verify round trips (built binary)', () => {
  for (const schema of ['2.0.0', '1.1.0']) {
    it(`signs ${schema} from a key file and verifies it pinned (exit 0)`, async () => {
      const out = join(dir, `log-${schema}.json`);
      const s = await runCli([
        'audit',
        'sign',
        '--key-file',
        keyFile,
        '--payload',
        DOC,
        '--schema',
        schema,
        '--out',
        out,
      ]);
      expect(s.code, s.stderr).toBe(0);
      expect(JSON.parse(readFileSync(out, 'utf8')).version).toBe(schema);
      const v = await runCli(['audit', 'verify', out, '--public-key', SIGNING_PUBLIC_KEY_HEX]);
      expect(v.code, v.stdout + v.stderr).toBe(0);
      expect(v.stdout).toContain('VALID');
      expect(v.stdout).toContain('trust pinned');
    });
  }

  it('takes the payload as @file, from stdin, and as a bare payload with --transaction-hash', async () => {
    const docFile = join(dir, 'doc.json');
    writeFileSync(docFile, DOC);
    const env = { ERST_AUDIT_PRIVATE_KEY_PEM: SIGNING_KEY_PEM };
    const a = await runCli(['audit', 'sign', '--payload', `@${docFile}`], { env });
    const b = await runCli(['audit', 'sign', '--payload', '-'], { env, input: DOC });
    const c = await runCli(['audit', 'sign', '--payload', JSON.stringify(PAYLOAD), '--transaction-hash', TX], { env });
    for (const r of [a, b, c]) {
      expect(r.code, r.stderr).toBe(0);
      const rec = JSON.parse(r.stdout);
      expect(rec.transaction_hash).toBe(TX);
      expect(rec.payload).toEqual(PAYLOAD);
      expect(rec.public_key).toBe(SIGNING_PUBLIC_KEY_HEX);
    }
  });

  it("erst's spellings work: audit:sign, audit:verify, --software-private-key, --hsm-provider software, --file", async () => {
    const out = join(dir, 'alias.json');
    const s = await runCli([
      'audit:sign',
      '--software-private-key',
      SIGNING_KEY_PEM,
      '--hsm-provider',
      'software',
      '--payload',
      DOC,
      '--out',
      out,
    ]);
    expect(s.code, s.stderr).toBe(0);
    const v = await runCli(['audit:verify', '--file', out]);
    expect(v.code).toBe(0);
    // No key pinned: the CLI says what a valid result means.
    expect(v.stderr).toContain('someone signed this');
  });

  it('signs with erst Go hex keys (ERST_SOFTWARE_PRIVATE_KEY_HEX)', async () => {
    const seed = Buffer.from(
      (await import('node:crypto')).createPrivateKey(SIGNING_KEY_PEM).export({ format: 'jwk' }).d!,
      'base64url',
    );
    const r = await runCli(['audit', 'sign', '--payload', DOC], {
      env: { ERST_SOFTWARE_PRIVATE_KEY_HEX: seed.toString('hex') },
    });
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).public_key).toBe(SIGNING_PUBLIC_KEY_HEX);
  });

  it('--json gives the machine shape, and a tampered copy exits 1 with its code', async () => {
    const good = join(dir, 'log-2.0.0.json');
    const bad = join(dir, 'tampered.json');
    const rec = JSON.parse(readFileSync(good, 'utf8'));
    rec.payload.logs[0] = 'edited';
    writeFileSync(bad, JSON.stringify(rec));
    const r = await runCli(['audit', 'verify', good, bad, '--json', '--public-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(r.code).toBe(1);
    const out = JSON.parse(r.stdout);
    expect(out.results).toHaveLength(2);
    expect(out.results[0]).toMatchObject({ file: good, valid: true, format: '2.0.0', trust: 'pinned', errors: [] });
    expect(out.results[1]).toMatchObject({ file: bad, valid: false, format: '2.0.0' });
    expect(out.results[1].errors.map((e: { code: string }) => e.code)).toEqual([
      'ERR_HASH_MISMATCH',
      'ERR_SIGNATURE_INVALID',
    ]);
    for (const res of out.results)
      expect(Object.keys(res)).toEqual(
        expect.arrayContaining(['file', 'valid', 'format', 'trust', 'errors', 'warnings']),
      );
  });

  it('verifies every shared erst vector through the CLI', async () => {
    const files: string[] = [];
    for (const f of ['erst-go-1.1.0.jsonl', 'erst-go-1.0.0.jsonl', 'erst-ts-legacy.jsonl']) {
      readVectorLines(f).forEach((line, i) => {
        const p = join(dir, `${f}-${i}.json`);
        writeFileSync(p, line);
        files.push(p);
      });
    }
    const r = await runCli(['audit', 'verify', ...files, '--public-key', SIGNING_PUBLIC_KEY_HEX, '--json']);
    expect(r.code, r.stdout).toBe(0);
    expect(JSON.parse(r.stdout).results.every((x: { valid: boolean }) => x.valid)).toBe(true);
  });

  it('a record signed by a key nobody pinned fails when keys are pinned (exit 1)', async () => {
    const gen = await runCli(['keys', 'generate', '--out', join(dir, 'other.pem')]);
    const other = join(dir, 'other-log.json');
    await runCli(['audit', 'sign', '--key-file', join(dir, 'other.pem'), '--payload', DOC, '--out', other]);
    const r = await runCli(['audit', 'verify', other, '--public-key', SIGNING_PUBLIC_KEY_HEX]);
    expect(r.code).toBe(1);
    expect(r.stdout).toContain('ERR_KEY_NOT_TRUSTED');
    const ok = await runCli(['audit', 'verify', other, '--public-key', gen.stdout.trim()]);
    expect(ok.code).toBe(0);
  });
});

describe('records from pipes', () => {
  it('refuses a pipe (ERR_FILE_NOT_REGULAR) and still verifies the next file, lazy attestation loading included (nodejs/node#51142)', async () => {
    const f = join(dir, 'attested.json');
    writeFileSync(f, readVectorLines('erst-go-1.1.0.jsonl')[4]!);
    const erst = join(REPO_ROOT, 'node_modules', '.bin', 'erst');
    const r = await run('bash', [
      '-c',
      `"${erst}" audit verify <(cat "${f}") "${f}" --attestation-root "${vectorPath('attestation-chain/root.pem')}" --json`,
    ]);
    expect(r.code, r.stderr).toBe(2);
    const [piped, file] = JSON.parse(r.stdout).results;
    expect(piped.errors.map((e: { code: string }) => e.code)).toEqual(['ERR_FILE_NOT_REGULAR']);
    expect(file).toMatchObject({ valid: true, trust: 'attested' });
  });
});

describe('erst keys', () => {
  it('generate writes PKCS#8 with mode 0600 and prints the public key; public prints it back', async () => {
    const file = join(dir, 'new.pem');
    const g = await runCli(['keys', 'generate', '--out', file]);
    expect(g.code, g.stderr).toBe(0);
    expect(g.stdout.trim()).toMatch(/^[0-9a-f]{64}$/);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain('-----BEGIN PRIVATE KEY-----');
    const p = await runCli(['keys', 'public', '--key-file', file]);
    expect(p.stdout.trim()).toBe(g.stdout.trim());
    const pem = await runCli(['keys', 'public', '--key-file', file, '--pem']);
    expect(pem.stdout).toContain('-----BEGIN PUBLIC KEY-----');
    const again = await runCli(['keys', 'generate', '--out', file]);
    expect(again.code).toBe(2);
    expect(again.stderr).toContain('ERR_USAGE');
  });

  it('a key file readable by others gets a warning naming the chmod fix', async () => {
    const loose = join(dir, 'loose.pem');
    writeFileSync(loose, SIGNING_KEY_PEM, { mode: 0o644 });
    const r = await runCli(['keys', 'public', '--key-file', loose]);
    expect(r.code).toBe(0);
    expect(r.stderr).toContain(`chmod 600 ${loose}`);
  });
});

describe('erst audit inspect and the jq + openssl recipe', () => {
  it('inspect names covered and uncovered fields; --hash-input is exactly what is hashed', async () => {
    const f = join(dir, 'log-1.1.0.json');
    const r = await runCli(['audit', 'inspect', f, '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info).toMatchObject({
      format: '1.1.0',
      hash_matches: true,
      uncovered: ['version', 'timestamp', 'transaction_hash'],
    });
    const raw = await run('sh', ['-c', `"$ERST" audit inspect ${f} --hash-input | openssl dgst -sha256 -r`], {
      env: { ERST: join(process.cwd(), '..', '..', 'node_modules', '.bin', 'erst') },
    });
    expect(raw.stdout.split(' ')[0]).toBe(JSON.parse(readFileSync(f, 'utf8')).trace_hash);
    const human = await runCli(['audit', 'inspect', f]);
    expect(human.stdout).toContain('unsigned fields:  version, timestamp, transaction_hash');
  });

  it("README recipe: jq -jcS 'del(.trace_hash, .signature)' | openssl dgst -sha256 prints trace_hash", async () => {
    const f = join(dir, 'log-2.0.0.json');
    const r = await run('sh', ['-c', `jq -jcS 'del(.trace_hash, .signature)' ${f} | openssl dgst -sha256`]);
    expect(r.code, r.stderr).toBe(0);
    const printed = r.stdout.trim().split(' ').pop();
    expect(printed).toBe(JSON.parse(readFileSync(f, 'utf8')).trace_hash);
  });
});

describe('bad input: exit 2, a coded message, no stack trace', () => {
  const cases: [string, () => string, string][] = [
    ['an empty file', () => write('empty.json', ''), 'ERR_INPUT_EMPTY'],
    ['not JSON', () => write('text.json', 'hello world'), 'ERR_JSON_SYNTAX'],
    [
      'truncated JSON',
      () => write('trunc.json', readFileSync(join(dir, 'log-2.0.0.json'), 'utf8').slice(0, 120)),
      'ERR_JSON_SYNTAX',
    ],
    [
      'duplicate keys',
      () => write('dup.json', readFileSync(join(dir, 'log-2.0.0.json'), 'utf8').replace('{', '{"signature":"00",')),
      'ERR_JSON_DUPLICATE_KEY',
    ],
    ['wrong types', () => write('types.json', JSON.stringify({ ...rec2(), timestamp: 12 })), 'ERR_RECORD_FIELD_TYPE'],
    [
      'bad hex',
      () => write('hex.json', JSON.stringify({ ...rec2(), signature: 'zz'.repeat(64) })),
      'ERR_RECORD_FIELD_FORMAT',
    ],
    [
      'a wrong length',
      () => write('len.json', JSON.stringify({ ...rec2(), public_key: 'ab'.repeat(31) })),
      'ERR_RECORD_FIELD_FORMAT',
    ],
    [
      'an unknown version',
      () => write('ver.json', JSON.stringify({ ...rec2(), version: '3.0.0' })),
      'ERR_RECORD_UNSUPPORTED_VERSION',
    ],
    ['a JSON array', () => write('arr.json', '[1,2]'), 'ERR_RECORD_NOT_OBJECT'],
    ['a 50 MB string', () => write('big.json', `"${'x'.repeat(50 * 1024 * 1024)}"`), 'ERR_INPUT_TOO_LARGE'],
    [
      'a directory',
      () => {
        const d = join(dir, 'a-directory');
        mkdirSync(d, { recursive: true });
        return d;
      },
      'ERR_FILE_IS_DIRECTORY',
    ],
    ['a missing file', () => join(dir, 'does-not-exist.json'), 'ERR_FILE_NOT_FOUND'],
  ];
  function write(name: string, text: string): string {
    const p = join(dir, name);
    writeFileSync(p, text);
    return p;
  }
  function rec2() {
    return JSON.parse(readFileSync(join(dir, 'log-2.0.0.json'), 'utf8'));
  }
  it.each(cases)('verify: %s', async (_name, make, code) => {
    const r = await runCli(['audit', 'verify', make()]);
    expect(r.code, r.stdout + r.stderr).toBe(2);
    expect(r.stdout + r.stderr).toContain(code);
    noStack(r.stdout + r.stderr);
  });

  it.each([
    ['not JSON', 'nope', 'ERR_JSON_SYNTAX'],
    ['duplicate keys', `{"transaction_hash":"${TX}","payload":{},"payload":{}}`, 'ERR_JSON_DUPLICATE_KEY'],
    ['no transaction hash', '{"envelope_xdr":"x"}', 'ERR_USAGE'],
    ['a bad transaction hash', JSON.stringify({ transaction_hash: 'xyz', payload: PAYLOAD }), 'ERR_PAYLOAD_INVALID'],
    ['a non-erst payload as 1.1.0', JSON.stringify({ transaction_hash: TX, payload: { a: 1 } }), 'ERR_PAYLOAD_INVALID'],
    // Was signed whole, as if the wrapper were the payload: the same rules as a --batch line now.
    [
      'a wrapper with an extra member (and --transaction-hash)',
      JSON.stringify({ transaction_hash: TX, payload: PAYLOAD, note: 'x' }),
      'ERR_PAYLOAD_INVALID',
    ],
    [
      'a hash that differs from --transaction-hash',
      JSON.stringify({ transaction_hash: TX, payload: PAYLOAD }),
      'ERR_USAGE',
    ],
  ])('sign: %s exits 2 and writes no output file', async (name, payload, code) => {
    const out = join(dir, `never-${name.replace(/\W/g, '')}.json`);
    const args = ['audit', 'sign', '--key-file', keyFile, '--payload', payload, '--out', out];
    if (name.includes('1.1.0')) args.push('--schema', '1.1.0');
    if (name.includes('--transaction-hash'))
      args.push('--transaction-hash', name.includes('differs') ? 'cd'.repeat(32) : TX);
    const r = await runCli(args);
    expect(r.code, r.stderr).toBe(2);
    expect(r.stderr).toContain(code);
    noStack(r.stderr);
    expect(existsSync(out)).toBe(false);
    expect(readdirSync(dir).filter((f) => f.includes('.tmp'))).toEqual([]);
  });

  it('sign without a key exits 3 (signer environment) and names the ways to give one', async () => {
    const r = await runCli(['audit', 'sign', '--payload', DOC], {
      env: { ERST_AUDIT_PRIVATE_KEY_PEM: undefined, ERST_SOFTWARE_PRIVATE_KEY_HEX: undefined },
    });
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_KEY_MISSING');
    expect(r.stderr).toContain('--key-file');
  });

  it('an encrypted key exits 3 with its own code', async () => {
    const { generateKeyPairSync } = await import('node:crypto');
    const enc = generateKeyPairSync('ed25519').privateKey.export({
      type: 'pkcs8',
      format: 'pem',
      cipher: 'aes-256-cbc',
      passphrase: 'pw',
    }) as string;
    const f = join(dir, 'enc.pem');
    writeFileSync(f, enc, { mode: 0o600 });
    const r = await runCli(['audit', 'sign', '--key-file', f, '--payload', DOC]);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('ERR_KEY_ENCRYPTED');
  });

  it('usage errors exit 2 without a stack trace', async () => {
    for (const args of [
      ['audit', 'sign'],
      ['bogus'],
      ['audit', 'verify'],
      ['audit', 'verify', 'x', '--unknown-flag'],
    ]) {
      const r = await runCli(args);
      expect(r.code, args.join(' ')).toBe(2);
      noStack(r.stderr);
    }
  });
});

describe('help', () => {
  it('--version prints the package version', async () => {
    const r = await runCli(['--version']);
    const pkg = JSON.parse(readFileSync(join(REPO_ROOT, 'apps', 'cli', 'package.json'), 'utf8'));
    expect(r.stdout.trim()).toBe(pkg.version);
  });

  it.each([
    ['audit', 'sign'],
    ['audit', 'verify'],
    ['audit', 'inspect'],
    ['keys', 'generate'],
    ['keys', 'public'],
  ])('erst %s %s --help shows a working example', async (...cmd) => {
    const r = await runCli([...cmd, '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain(`erst ${cmd.join(' ')}`);
  });
});
