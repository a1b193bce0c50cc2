import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT, type RunResult, runCli } from '@erst/fixtures';
import { verifyAuditLog } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { createSoftHsm, generateRsaKey, strayFiles } from './softhsm.js';

const hsm = createSoftHsm('cli-token');
const work = join(hsm.dir, 'work');
mkdirSync(work);
const TX = '5e'.repeat(32);
const payloadFile = join(work, 'payload.json');
writeFileSync(
  payloadFile,
  JSON.stringify({
    transaction_hash: TX,
    payload: {
      envelope_xdr: 'AAAAAgAAAAA=',
      result_meta_xdr: 'AAAAAwAAAAA=',
      events: ['event <one> & "two"'],
      logs: ['log', 'ünï ✓'],
    },
  }),
);

const erst = (args: string[], env: Record<string, string | undefined> = hsm.env) => runCli(args, { env, cwd: work });
const sign = ['audit', 'sign', '--hsm-provider', 'pkcs11', '--payload', `@${payloadFile}`];

/** `count` batch input lines (small payloads, distinct transaction hashes) written to `path`. */
function writeBatch(path: string, count: number): void {
  const lines = Array.from({ length: count }, (_, i) =>
    JSON.stringify({
      transaction_hash: i.toString(16).padStart(64, '0'),
      payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'AAAA', events: [`event ${i}`], logs: [] },
    }),
  );
  writeFileSync(path, `${lines.join('\n')}\n`);
}

/** Every line of a batch output verifies as 2.0.0 with the token key pinned, and each transaction appears once. */
async function expectEachVerifiesOnce(path: string, count: number): Promise<void> {
  const pub = (await erst(['keys', 'public', '--hsm-provider', 'pkcs11', '--key-label', 'cli-ed'])).stdout.trim();
  const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
  expect(lines).toHaveLength(count);
  const seen = new Set<string>();
  for (const line of lines) {
    const v = await verifyAuditLog(line, { publicKeys: [pub] });
    expect(v, JSON.stringify(v.errors)).toMatchObject({ valid: true, trust: 'pinned', format: '2.0.0' });
    seen.add(v.transaction_hash!);
  }
  expect(seen.size).toBe(count);
}

function expectNoPin(r: RunResult, ...pins: string[]): void {
  for (const pin of [hsm.pin, ...pins]) {
    expect(r.stdout).not.toContain(pin);
    expect(r.stderr).not.toContain(pin);
  }
}

describe('erst hsm keys generate', () => {
  it('makes an Ed25519 key on the token and prints its public key', async () => {
    const r = await erst(['hsm', 'keys', 'generate', '--label', 'cli-ed']);
    expect(r.stderr).toContain('"cli-ed"');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^[0-9a-f]{64}\n$/);
    expectNoPin(r);
  });

  it('makes an ECDSA P-256 key with a given CKA_ID', async () => {
    const r = await erst([
      'hsm',
      'keys',
      'generate',
      '--label',
      'cli-p256',
      '--id',
      '0a0b',
      '--algorithm',
      'ecdsa-p256',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/^04[0-9a-f]{128}\n$/);
    expect(r.stderr).toContain('ID 0a0b');
  });

  it('refuses a label already on the token', async () => {
    const r = await erst(['hsm', 'keys', 'generate', '--label', 'cli-ed']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_USAGE');
  });

  it('has a working example in --help', async () => {
    const r = await erst(['hsm', 'keys', 'generate', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
    expect(r.stdout).toContain('erst hsm keys generate --label audit-2026');
  });
});

describe('erst keys public, audit sign and audit verify on the token', () => {
  for (const [label, algorithm, schemas] of [
    ['cli-ed', 'ed25519', ['2.0.0', '1.1.0']],
    ['cli-p256', 'ecdsa-p256', ['2.0.0']],
  ] as const) {
    it(`${algorithm}: signs ${schemas.join(' and ')} records that verify with the token key pinned`, async () => {
      const pub = await erst(['keys', 'public', '--hsm-provider', 'pkcs11', '--key-label', label]);
      expect(pub.code).toBe(0);
      const hex = pub.stdout.trim();
      expect(hex).toMatch(algorithm === 'ed25519' ? /^[0-9a-f]{64}$/ : /^04[0-9a-f]{128}$/);
      for (const schema of schemas) {
        const out = `${label}-${schema}.json`;
        const r = await erst([...sign, '--key-label', label, '--schema', schema, '--out', out]);
        expect(r.stderr).toContain(hex);
        expect(r.code).toBe(0);
        expectNoPin(r);
        const record = JSON.parse(readFileSync(join(work, out), 'utf8'));
        expect(record).toMatchObject({ version: schema, public_key: hex, transaction_hash: TX });
        expect(record.hardware_attestation).toBeUndefined();
        const v = await erst(['audit', 'verify', out, '--public-key', hex, '--json']);
        expect(v.code).toBe(0);
        const result = JSON.parse(v.stdout).results[0];
        expect(result).toMatchObject({ valid: true, trust: 'pinned', format: schema });
      }
    });
  }

  it('refuses schema 1.1.0 with an ECDSA key (1.1.0 is Ed25519 only)', async () => {
    const r = await erst([...sign, '--key-label', 'cli-p256', '--schema', '1.1.0', '--out', 'p256-1.1.0.json']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_ALGORITHM_UNSUPPORTED');
    expect(existsSync(join(work, 'p256-1.1.0.json'))).toBe(false);
  });

  it('signs a batch on the token (signing threads), every record verifying with the key pinned', async () => {
    const batch = join(work, 'batch.jsonl');
    writeBatch(batch, 60);
    const r = await erst([
      'audit',
      'sign',
      '--hsm-provider',
      'pkcs11',
      '--key-label',
      'cli-ed',
      '--batch',
      batch,
      '--out',
      'batch-out.jsonl',
      '--quiet',
    ]);
    expect(r.code).toBe(0);
    expectNoPin(r);
    await expectEachVerifiesOnce(join(work, 'batch-out.jsonl'), 60);
  });

  it('takes everything from ERST_PKCS11_* variables, the PIN from --pin-file, and the token by --slot', async () => {
    const pinFile = join(work, 'pin.txt');
    writeFileSync(pinFile, `${hsm.pin}\n`);
    chmodSync(pinFile, 0o600);
    const env = {
      ...hsm.env,
      ERST_PKCS11_PIN: undefined,
      ERST_PKCS11_TOKEN_LABEL: undefined,
      ERST_PKCS11_KEY_ID: '0a0b',
    };
    const r = await erst([...sign, '--pin-file', pinFile, '--slot', '0'], env);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ algorithm: 'ecdsa-p256', version: '2.0.0' });
  });
});

describe('erst hsm info', () => {
  it('shows the module, token, mechanisms and keys with their attributes', async () => {
    const r = await erst(['hsm', 'info']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain(hsm.module);
    expect(r.stdout).toContain('token "cli-token", model SoftHSM v2');
    expect(r.stdout).toMatch(/CKM_EDDSA \(sign/);
    expect(r.stdout).toMatch(/CKM_EC_EDWARDS_KEY_PAIR_GEN \(generate/);
    expect(r.stdout).toMatch(/CKM_ECDSA \(sign/);
    expect(r.stdout).toMatch(
      /private key "cli-ed" ID [0-9a-f]{16} ed25519: local sensitive non-extractable always-sensitive never-extractable sign/,
    );
    expect(r.stdout).toMatch(/private key "cli-p256" ID 0a0b ecdsa-p256: local sensitive non-extractable/);
    expectNoPin(r);
  });

  it('prints JSON with --json', async () => {
    const r = await erst(['hsm', 'info', '--json']);
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.module).toMatchObject({ path: hsm.module, cryptoki_version: '2.40' });
    const slot = info.slots.find((s: { token: { label: string } }) => s.token.label === 'cli-token');
    expect(slot.token).toMatchObject({ model: 'SoftHSM v2', initialized: true });
    expect(slot.token.serial).toMatch(/^[0-9a-f]{16}$/);
    expect(slot.token.flags).toContain('TOKEN_INITIALIZED');
    expect(slot.token.mechanisms).toContainEqual(
      expect.objectContaining({ name: 'CKM_EDDSA', code: '0x1057', supported: true, sign: true }),
    );
    expect(info.logged_in).toBe(true);
    expect(info.keys).toContainEqual({
      class: 'private',
      label: 'cli-p256',
      id: '0a0b',
      algorithm: 'ecdsa-p256',
      local: true,
      sensitive: true,
      always_sensitive: true,
      extractable: false,
      never_extractable: true,
      sign: true,
    });
  });

  it('lists only public objects without a PIN, and says so', async () => {
    const r = await erst(['hsm', 'info', '--json'], { ...hsm.env, ERST_PKCS11_PIN: undefined });
    expect(r.code).toBe(0);
    const info = JSON.parse(r.stdout);
    expect(info.logged_in).toBe(false);
    expect(info.keys.every((k: { class: string }) => k.class === 'public')).toBe(true);
    expect(info.notes.join(' ')).toContain('ERST_PKCS11_PIN');
  });

  it('has a working example in --help', async () => {
    const r = await erst(['hsm', 'info', '--help']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Examples:');
  });
});

describe('faults: code, exit 3, no output file, no PIN in the output', () => {
  generateRsaKey(hsm, 'cli-rsa', '0c');

  const cases: [string, string[], Record<string, string | undefined>, string, RegExp?][] = [
    [
      'a wrong PIN',
      ['--key-label', 'cli-ed'],
      { ERST_PKCS11_PIN: 'Wr0ng-PIN-7731' },
      'ERR_PKCS11_PIN_INCORRECT',
      /CKF_USER_PIN_COUNT_LOW/,
    ],
    [
      'no PIN anywhere',
      ['--key-label', 'cli-ed'],
      { ERST_PKCS11_PIN: undefined },
      'ERR_PKCS11_PIN_MISSING',
      /ERST_PKCS11_PIN/,
    ],
    [
      'a missing module',
      ['--key-label', 'cli-ed', '--pkcs11-module', '/opt/nowhere/libpkcs11.so'],
      {},
      'ERR_PKCS11_MODULE',
      /\/opt\/nowhere\/libpkcs11\.so/,
    ],
    [
      'a wrong token label',
      ['--key-label', 'cli-ed', '--token-label', 'no such token'],
      {},
      'ERR_PKCS11_TOKEN_NOT_FOUND',
      /"cli-token"/,
    ],
    [
      'a missing key',
      ['--key-label', 'no-such-key'],
      {},
      'ERR_PKCS11_KEY_NOT_FOUND',
      /"cli-ed".*ed25519|"cli-p256" \(ID 0a0b\)/,
    ],
    [
      'an RSA key (mechanism erst cannot use)',
      ['--key-label', 'cli-rsa'],
      {},
      'ERR_PKCS11_MECHANISM',
      /rsa-2048.*CKM_EDDSA/,
    ],
    [
      'an attestation required but absent',
      ['--key-label', 'cli-ed', '--require-attestation'],
      {},
      'ERR_ATTESTATION_UNAVAILABLE',
    ],
  ];
  for (const [what, args, env, code, message] of cases) {
    it(`${what}: ${code}`, async () => {
      const dir = join(work, code.toLowerCase());
      mkdirSync(dir, { recursive: true });
      const out = join(dir, 'log.json');
      const r = await erst([...sign, ...args, '--out', out], { ...hsm.env, ...env });
      expect(r.stderr).toContain(`erst: error ${code}:`);
      if (message) expect(r.stderr).toMatch(message);
      expect(r.code).toBe(3);
      expect(r.stdout).toBe('');
      expect(strayFiles(dir)).toEqual([]);
      expectNoPin(r, ...Object.values(env).filter((v): v is string => typeof v === 'string' && v.includes('PIN')));
    });
  }

  it('no initialized token at all: ERR_PKCS11_NO_TOKEN', async () => {
    const empty = join(work, 'empty-store');
    mkdirSync(join(empty, 'tokens'), { recursive: true });
    writeFileSync(join(empty, 'softhsm2.conf'), `directories.tokendir = ${join(empty, 'tokens')}\n`);
    const out = join(empty, 'log.json');
    const r = await erst([...sign, '--key-label', 'cli-ed', '--out', out], {
      ...hsm.env,
      SOFTHSM2_CONF: join(empty, 'softhsm2.conf'),
      ERST_PKCS11_TOKEN_LABEL: undefined,
    });
    expect(r.stderr).toContain('erst: error ERR_PKCS11_NO_TOKEN:');
    expect(r.code).toBe(3);
    expect(existsSync(out)).toBe(false);
  });

  it('refuses a PIN given as a flag (exit 2) without echoing it', async () => {
    const r = await erst([...sign, '--key-label', 'cli-ed', '--pin', 'Flag-PIN-9911']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('ERR_USAGE');
    expect(r.stderr + r.stdout).not.toContain('Flag-PIN-9911');
  });

  it('keys public and hsm info fail the same way (exit 3)', async () => {
    const a = await erst([
      'keys',
      'public',
      '--hsm-provider',
      'pkcs11',
      '--key-label',
      'cli-ed',
      '--token-label',
      'nope',
    ]);
    expect(a.code).toBe(3);
    expect(a.stderr).toContain('ERR_PKCS11_TOKEN_NOT_FOUND');
    const b = await erst(['hsm', 'info', '--pkcs11-module', '/opt/nowhere/libpkcs11.so']);
    expect(b.code).toBe(3);
    expect(b.stderr).toContain('ERR_PKCS11_MODULE');
  });
});

describe('Ctrl-C while the token is open', () => {
  it('closes the signer (logout, C_Finalize) before exiting 130, when erst waits for input with the token open', async () => {
    // `producer | erst audit sign --batch -`: the token is open while erst waits for the producer's next line.
    const out = join(work, 'waiting.jsonl');
    const args = ['audit', 'sign', '--hsm-provider', 'pkcs11', '--key-label', 'cli-ed', '--batch', '-', '--out', out];
    const child = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/dist/bin.js'), ...args], {
      cwd: work,
      env: { ...process.env, ...hsm.env },
      stdio: ['pipe', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const line = { transaction_hash: 'ee'.repeat(32), payload: { envelope_xdr: 'AAAA', events: [], logs: [] } };
    child.stdin.write(`${JSON.stringify(line)}\n`);
    // The first record written proves the token is open; stdin stays open, so erst waits on it.
    while (!existsSync(out) || !readFileSync(out, 'utf8').endsWith('\n')) {
      if (child.exitCode !== null)
        throw new Error(`erst ended (exit ${child.exitCode}) before it could be stopped: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    child.stdin.destroy();
    expect(stderr).toContain('SIGINT: logging out of the token');
    expect(stderr).not.toContain(hsm.pin);
    expect(readFileSync(out, 'utf8').trimEnd().split('\n')).toHaveLength(1);
  });
  it('stops a batch on signing threads cleanly (exit 130, whole lines only, logged out); the rerun finishes it', async () => {
    const COUNT = 10_000;
    const batch = join(work, 'stop-me.jsonl');
    const out = join(work, 'stopped.jsonl');
    writeBatch(batch, COUNT);
    const args = [
      'audit',
      'sign',
      '--hsm-provider',
      'pkcs11',
      '--key-label',
      'cli-ed',
      '--batch',
      batch,
      '--out',
      out,
      '--quiet',
    ];
    const child = spawn(process.execPath, [join(REPO_ROOT, 'apps/cli/dist/bin.js'), ...args], {
      cwd: work,
      env: { ...process.env, ...hsm.env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const lines = () => (existsSync(out) ? readFileSync(out, 'utf8').split('\n').length - 1 : 0);
    while (lines() < 500) {
      if (child.exitCode !== null)
        throw new Error(`the batch ended (exit ${child.exitCode}) before it could be stopped: ${stderr}`);
      await new Promise((r) => setTimeout(r, 5));
    }
    child.kill('SIGINT');
    expect(await exited).toBe(130);
    expect(stderr).toContain('SIGINT: logging out of the token');
    expect(stderr).not.toContain(hsm.pin);
    const text = readFileSync(out, 'utf8');
    expect(text.endsWith('\n')).toBe(true);
    const before = text.trimEnd().split('\n').length;
    expect(before).toBeLessThan(COUNT);

    const again = await erst(args);
    expect(again.code, again.stderr).toBe(0);
    await expectEachVerifiesOnce(out, COUNT);
  }, 120_000);
});
