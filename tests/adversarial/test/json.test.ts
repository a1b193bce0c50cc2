import { createHash, createPrivateKey, sign as edSign } from 'node:crypto';
import { mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { canonicalize, generateWithSigner, type JsonObject } from '@erst/core';
import { SIGNING_KEY_PEM, SIGNING_PUBLIC_KEY_HEX, readVectorLines, runBatch, runCli, tempDir } from '@erst/fixtures';
import { InMemorySigner } from '@erst/signer-memory';
import { afterAll, describe, expect, it } from 'vitest';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
const TX = 'ab'.repeat(32);
const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
const privateKey = createPrivateKey(SIGNING_KEY_PEM);

const made: string[] = [];
function scratch(): string {
  const d = tempDir('erst-adv-json-');
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});

let files = 0;
function writeRecord(text: string): string {
  const file = join(scratch(), `record-${++files}.json`);
  writeFileSync(file, text);
  return file;
}

interface Outcome {
  exit: number | null;
  codes: string[];
  output: string;
}

/** `erst audit verify <file> --json`: the exit code and every error code of the one result. */
async function verify(text: string, trust: string[] = PIN): Promise<Outcome> {
  const r = await runCli(['audit', 'verify', writeRecord(text), ...trust, '--json']);
  const result = (JSON.parse(r.stdout) as { results: { errors: { code: string }[] }[] }).results[0]!;
  return { exit: r.code, codes: result.errors.map((e) => e.code), output: r.stdout + r.stderr };
}

/** `erst-batch verify <dir> --json -`: the exit code and the failure codes of the report. */
async function batch(text: string): Promise<Outcome> {
  const dir = join(scratch(), 'archive');
  mkdirSync(dir);
  writeFileSync(join(dir, 'record.json'), text);
  const r = await runBatch(['verify', dir, ...PIN, '--json', '-', '--quiet']);
  const report = JSON.parse(r.stdout) as { failures: { code: string; errors?: { code: string }[] }[] };
  const codes = report.failures.flatMap((f) => [f.code, ...(f.errors ?? []).map((e) => e.code)]);
  return { exit: r.code, codes, output: r.stdout + r.stderr };
}

/**
 * Both tools refuse `text` with `code`: erst with exit `exit`; erst-batch with
 * a non-zero exit (it counts a malformed record as failed, exit 1, where erst
 * says 2 for malformed input).
 */
async function expectRefusedByBoth(text: string, exit: number, code: string): Promise<void> {
  const v = await verify(text);
  expect(v.exit).toBe(exit);
  // Malformed input stops at its first error; a failed check may list more.
  if (exit === 2) expect(v.codes).toEqual([code]);
  else expect(v.codes).toContain(code);
  const b = await batch(text);
  if (exit === 1) expect(b.exit).toBe(1);
  else expect(b.exit).not.toBe(0);
  expect(b.codes).toContain(code);
}

/** A 2.0.0 record as the library writes it, as compact JSON text. */
async function signed(payload: JsonObject): Promise<string> {
  return JSON.stringify(await generateWithSigner(signer, { transactionHash: TX, payload }, { attestation: null }));
}

/** Seals a hand-made 2.0.0 record with the test key, for fields the signer itself would never write. */
function seal2(fields: Record<string, unknown>): string {
  const digest = createHash('sha256').update(canonicalize(fields)).digest();
  return JSON.stringify({
    ...fields,
    trace_hash: digest.toString('hex'),
    signature: edSign(null, digest, privateKey).toString('hex'),
  });
}

/** An erst TypeScript record over `trace`, signed as erst's AuditLogger did (over the hex of the hash). */
function sealLegacy(trace: JsonObject): string {
  const hash = createHash('sha256').update(canonicalize({ trace })).digest('hex');
  const publicKey = (JSON.parse(readVectorLines('erst-ts-legacy.jsonl')[0]!) as { publicKey: string }).publicKey;
  return JSON.stringify({
    trace,
    hash,
    signature: edSign(null, Buffer.from(hash), privateKey).toString('hex'),
    algorithm: 'Ed25519+SHA256',
    publicKey,
    signer: { provider: 'software' },
  });
}

function insertAfter(text: string, anchor: string, member: string): string {
  expect(text).toContain(anchor);
  return text.replace(anchor, `${anchor}${member},`);
}

const FORGED = '"__proto__":{"logs":["FORGED"]}';
const PAYLOAD = { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: ['e'], logs: ['real'] };

describe('"__proto__" members are covered by the signature', () => {
  it('2.0.0: one added to payload fails verification in erst and erst-batch', async () => {
    const text = insertAfter(await signed(PAYLOAD), '"payload":{', FORGED);
    await expectRefusedByBoth(text, 1, 'ERR_HASH_MISMATCH');
  });

  it('2.0.0: one added at the top level fails verification in erst and erst-batch', async () => {
    const text = insertAfter(await signed(PAYLOAD), '{', FORGED);
    await expectRefusedByBoth(text, 1, 'ERR_HASH_MISMATCH');
  });

  it('erst TypeScript records: one added to trace fails verification in erst and erst-batch', async () => {
    const text = insertAfter(readVectorLines('erst-ts-legacy.jsonl')[0]!, '{"trace":{', FORGED);
    await expectRefusedByBoth(text, 1, 'ERR_HASH_MISMATCH');
  });

  it.each(['erst-go-1.0.0.jsonl', 'erst-go-1.1.0.jsonl'])(
    '%s: one added to payload is refused as a field the Go hash input does not cover',
    async (file) => {
      const text = insertAfter(readVectorLines(file)[0]!, '"payload":{', FORGED);
      await expectRefusedByBoth(text, 2, 'ERR_RECORD_FIELD_UNKNOWN');
    },
  );

  it('erst audit sign signs one in the payload: inspect --hash-input shows it, verify passes, changing it fails', async () => {
    const doc = `{"transaction_hash":"${TX}","payload":{"logs":["real"],"__proto__":{"logs":["FORGED"]}}}`;
    const d = scratch();
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    const s = await runCli(['audit', 'sign', '--key-file', key, '--payload', '-'], { input: doc });
    expect(s.code, s.stderr).toBe(0);
    const record = s.stdout;
    const file = writeRecord(record);
    const h = await runCli(['audit', 'inspect', file, '--hash-input']);
    expect(h.code).toBe(0);
    // What python3 -c 'json.dumps(..., sort_keys=True, separators=(",", ":"))' and jq -jcS print for the payload.
    expect(h.stdout).toContain('"payload":{"__proto__":{"logs":["FORGED"]},"logs":["real"]}');
    expect(createHash('sha256').update(h.stdout).digest('hex')).toBe(
      (JSON.parse(record) as { trace_hash: string }).trace_hash,
    );
    expect((await verify(record)).exit).toBe(0);
    const changed = await verify(record.replace('"FORGED"', '"EDITED"'));
    expect(changed.exit).toBe(1);
    expect(changed.codes).toContain('ERR_HASH_MISMATCH');
  });
});

describe('numbers a double cannot hold exactly', () => {
  it.each([
    ['9007199254740992', '9007199254740993'],
    ['1', '1.0000000000000001'],
  ])('a record signed with %s and edited to %s is refused by erst and erst-batch', async (signedAs, edited) => {
    const text = await signed({ ...PAYLOAD, amount: Number(signedAs) });
    expect((await verify(text)).exit).toBe(0);
    const tampered = text.replace(`"amount":${signedAs}`, `"amount":${edited}`);
    expect(tampered).not.toBe(text);
    await expectRefusedByBoth(tampered, 2, 'ERR_JSON_NUMBER_PRECISION');
  });

  it('other spellings of the same number still verify: 1.0 for 1, 1e2 for 100, -0 for 0', async () => {
    const text = await signed({ ...PAYLOAD, a: 1, b: 100, c: 0 });
    const respelled = text.replace('"a":1', '"a":1.0').replace('"b":100', '"b":1e2').replace('"c":0', '"c":-0');
    expect(respelled).not.toBe(text);
    expect((await verify(respelled)).exit).toBe(0);
  });

  it('erst audit sign refuses such a number with exit 2 and names its path, instead of signing a rounded value', async () => {
    const d = scratch();
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    const doc = `{"transaction_hash":"${TX}","payload":{"logs":[],"amounts":[1,9007199254740993]}}`;
    const s = await runCli(['audit', 'sign', '--key-file', key, '--payload', '-'], { input: doc });
    expect(s.code).toBe(2);
    expect(s.stdout).toBe('');
    expect(s.stderr).toContain('ERR_JSON_NUMBER_PRECISION');
    expect(s.stderr).toContain('$.payload.amounts[1]');
  });
});

describe('deep nesting is refused as input, in every command', () => {
  const deep = `{"transaction_hash":"${TX}","payload":{"x":${'['.repeat(100_000)}${']'.repeat(100_000)}}}`;

  it('erst audit verify and erst-batch: ERR_JSON_TOO_DEEP, exit 2', async () => {
    await expectRefusedByBoth(deep, 2, 'ERR_JSON_TOO_DEEP');
  });

  it('erst audit inspect and erst audit sign: ERR_JSON_TOO_DEEP, exit 2', async () => {
    const i = await runCli(['audit', 'inspect', writeRecord(deep)]);
    expect(i.code).toBe(2);
    expect(i.stderr).toContain('ERR_JSON_TOO_DEEP');
    const d = scratch();
    const key = join(d, 'key.pem');
    writeFileSync(key, SIGNING_KEY_PEM, { mode: 0o600 });
    const s = await runCli(['audit', 'sign', '--key-file', key, '--payload', '-'], { input: deep });
    expect(s.code).toBe(2);
    expect(s.stderr).toContain('ERR_JSON_TOO_DEEP');
  });
});

describe('dates', () => {
  const fields = (timestamp: string) => ({
    algorithm: 'ed25519',
    payload: PAYLOAD,
    public_key: SIGNING_PUBLIC_KEY_HEX,
    timestamp,
    transaction_hash: TX,
    version: '2.0.0',
  });

  it.each(['2026-02-30T12:00:00.000Z', '2026-11-26T24:00:00.000Z'])(
    'a signed 2.0.0 record dated %s is refused',
    async (timestamp) => {
      expect((await verify(seal2(fields('2026-11-26T12:00:00.000Z')))).exit).toBe(0);
      const v = await verify(seal2(fields(timestamp)));
      expect(v.exit).toBe(2);
      expect(v.codes).toEqual(['ERR_RECORD_FIELD_FORMAT']);
    },
  );

  it('an erst TypeScript record whose trace.timestamp is no date does not pass a key validity window', async () => {
    const trust = join(scratch(), 'trust.json');
    writeFileSync(
      trust,
      JSON.stringify({
        keys: [
          {
            public_key: SIGNING_PUBLIC_KEY_HEX,
            algorithm: 'ed25519',
            label: 'retired',
            not_before: '2026-01-01T00:00:00Z',
            not_after: '2026-12-31T23:59:59Z',
          },
        ],
      }),
    );
    const trace = (timestamp: string) => ({ input: { tx_hash: TX }, events: [], timestamp });
    expect((await verify(sealLegacy(trace('2026-06-01T00:00:00.000Z')), ['--trust', trust])).exit).toBe(0);
    const late = await verify(sealLegacy(trace('2027-06-01T00:00:00.000Z')), ['--trust', trust]);
    expect(late.exit).toBe(1);
    expect(late.codes).toEqual(['ERR_KEY_OUTSIDE_VALIDITY']);
    const undated = await verify(sealLegacy(trace('whenever')), ['--trust', trust]);
    expect(undated.exit).toBe(2);
    expect(undated.codes).toEqual(['ERR_RECORD_FIELD_FORMAT']);
  });
});

describe('erst TypeScript publicKey holds one PEM block and nothing else', () => {
  const line = readVectorLines('erst-ts-legacy.jsonl')[0]!;
  const pem = (JSON.parse(line) as { publicKey: string }).publicKey;
  const other =
    '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEACQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk=\n-----END PUBLIC KEY-----\n';

  it.each([
    ['text after the block', `${pem}rotated in 2027, see the wiki`],
    ['a second block', pem + other],
  ])('%s: refused by erst and erst-batch', async (_name, publicKey) => {
    const text = line.replace(JSON.stringify(pem), JSON.stringify(publicKey));
    expect(text).not.toBe(line);
    await expectRefusedByBoth(text, 2, 'ERR_RECORD_FIELD_FORMAT');
  });
});

describe('JSON syntax errors', () => {
  // V8 on Node 20 quotes a piece of the input for this error, with no position.
  const text = '{\n  "envelope_xdr": "c2VjcmV0LWZyb20tdGhlLWZpbGU=",\n  "x": nul\n}\n';

  it('erst audit verify, inspect and erst-batch say ERR_JSON_SYNTAX with a line and column, and never quote the file', async () => {
    const v = await verify(text);
    expect(v.exit).toBe(2);
    expect(v.codes).toEqual(['ERR_JSON_SYNTAX']);
    expect(v.output).toContain('line 3, column 8');
    expect(v.output).not.toContain('c2VjcmV0');
    const i = await runCli(['audit', 'inspect', writeRecord(text)]);
    expect(i.code).toBe(2);
    expect(i.stderr).toContain('ERR_JSON_SYNTAX');
    expect(i.stdout + i.stderr).not.toContain('c2VjcmV0');
    const b = await batch(text);
    expect(b.exit).not.toBe(0);
    expect(b.codes).toContain('ERR_JSON_SYNTAX');
    expect(b.output).not.toContain('c2VjcmV0');
  });
});
