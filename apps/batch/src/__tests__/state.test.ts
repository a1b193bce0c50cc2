import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@erst/core';
import { SIGNING_PUBLIC_KEY_HEX } from '@erst/fixtures';
import { generateKeyPair } from '@erst/signer-memory';
import { beforeEach, describe, expect, it } from 'vitest';
import type { Report } from '@erst/batch-verify';
import { BATCH_BIN, hasStackTrace, record2, runBatch, scratchDir, vectorRecords, writeKey } from './helpers.js';

const PIN = ['--public-key', SIGNING_PUBLIC_KEY_HEX];
const stateKey = generateKeyPair();
const otherKey = generateKeyPair();

let d: string;
let logs: string;
let key: string;
let state: string;

async function verify(extra: string[] = []): Promise<{ code: number | null; report: Report; stderr: string }> {
  const r = await runBatch([
    'verify',
    logs,
    ...PIN,
    '--state',
    state,
    '--state-key',
    key,
    '--json',
    '-',
    '-q',
    ...extra,
  ]);
  expect(hasStackTrace(r.stderr), r.stderr).toBe(false);
  return { code: r.code, report: JSON.parse(r.stdout) as Report, stderr: r.stderr };
}

/** Rewrites a state file's entries, recomputing its SHA-256, and signing it with `signer` (or leaving it unsigned). */
async function forgeState(
  mutate: (entries: string[][]) => void,
  signer: ReturnType<typeof generateKeyPair>['signer'] | null,
): Promise<void> {
  const lines = readFileSync(state, 'utf8').trimEnd().split('\n');
  const header = lines[0]!;
  const entries = lines.slice(1, -1).map((l) => JSON.parse(l) as string[]);
  mutate(entries);
  const body = `${[header, ...entries.map((e) => JSON.stringify(e))].join('\n')}\n`;
  const digest = createHash('sha256').update(body).digest();
  const signature = signer
    ? { algorithm: 'ed25519', public_key: signer.publicKeyHex, value: bytesToHex(await signer.sign(digest)) }
    : null;
  writeFileSync(
    state,
    `${body}${JSON.stringify({ end: { records: entries.length, sha256: bytesToHex(digest), signature } })}\n`,
  );
}

beforeEach(async () => {
  d = scratchDir('erst-batch-state-');
  logs = join(d, 'logs');
  mkdirSync(join(logs, 'sub'), { recursive: true });
  for (const name of ['a', 'b', 'c', 'sub/d'])
    writeFileSync(join(logs, `${name}.json`), JSON.stringify(await record2('2026-11-20')));
  writeFileSync(join(logs, 'e.json'), vectorRecords['go-1.1.0'][1]!);
  key = writeKey(d, stateKey.pkcs8Pem);
  state = join(d, 'state.json');
});

describe('erst-batch verify --state', () => {
  it('reports logs deleted, replaced, edited outside the signature, and added between runs', async () => {
    const first = await verify(['--init-state']);
    expect(first.code).toBe(0);
    expect(first.report.state).toMatchObject({ status: 'baseline', records: 5, written: true });
    expect(first.report.new).toEqual([]);

    rmSync(join(logs, 'b.json'));
    writeFileSync(join(logs, 'c.json'), JSON.stringify(await record2('2026-11-21'))); // another valid record under the old name
    // 1.1.0 does not sign its timestamp: the record still verifies, only the state sees the edit.
    writeFileSync(
      join(logs, 'e.json'),
      vectorRecords['go-1.1.0'][1]!.replace(/"timestamp":"[^"]+"/, '"timestamp":"2020-01-01T00:00:00Z"'),
    );
    writeFileSync(join(logs, 'f.json'), JSON.stringify(await record2('2026-11-22')));

    const second = await verify();
    expect(second.code).toBe(1);
    expect(second.report.totals).toEqual({ records: 5, valid: 5, invalid: 0, unreadable: 0 });
    expect(second.report.missing).toEqual([join(logs, 'b.json')]);
    expect(second.report.changed).toEqual([join(logs, 'c.json'), join(logs, 'e.json')]);
    expect(second.report.new).toEqual([join(logs, 'f.json')]);
    expect(second.report.state).toMatchObject({
      status: 'compared',
      previous_records: 5,
      records: 5,
      signature_checked: true,
      written: true,
    });
    expect(second.report.failures.map((f) => [f.source, f.code, f.kind])).toEqual([
      [join(logs, 'b.json'), 'ERR_STATE_MISSING', 'state'],
      [join(logs, 'c.json'), 'ERR_STATE_CHANGED', 'state'],
      [join(logs, 'e.json'), 'ERR_STATE_CHANGED', 'state'],
    ]);
    expect(second.report.failures[1]!.message).toMatch(/trace_hash was [0-9a-f]{64}, now [0-9a-f]{64}/);
    expect(second.report.failures[2]!.message).toContain('bytes changed but its trace_hash did not');

    // The state now describes the second run: nothing new to report.
    const third = await verify();
    expect(third.code).toBe(0);
    expect([third.report.missing, third.report.changed, third.report.new]).toEqual([[], [], []]);
  });

  it('without --state-key, a first run records a baseline on its own', async () => {
    const r = await runBatch(['verify', logs, ...PIN, '--state', state, '--json', '-', '-q']);
    expect(r.code).toBe(0);
    expect((JSON.parse(r.stdout) as Report).state).toMatchObject({ status: 'baseline', signature_checked: false });
    const trailer = JSON.parse(readFileSync(state, 'utf8').trimEnd().split('\n').pop()!) as {
      end: { signature: unknown };
    };
    expect(trailer.end.signature).toBeNull();
  });

  it('writes the state atomically, signed over its SHA-256 with the state key', async () => {
    await verify(['--init-state']);
    const text = readFileSync(state, 'utf8');
    const lines = text.trimEnd().split('\n');
    // Version 3: a signed state names the configuration its records' results hold under.
    expect(JSON.parse(lines[0]!)).toEqual({
      erst_batch_state: 3,
      shard: null,
      sequence: 1,
      previous: null,
      config: expect.stringMatching(/^[0-9a-f]{64}$/),
    });
    const trailer = (
      JSON.parse(lines.pop()!) as { end: { records: number; sha256: string; signature: { public_key: string } } }
    ).end;
    expect(trailer.records).toBe(5);
    expect(trailer.sha256).toBe(
      createHash('sha256')
        .update(`${lines.join('\n')}\n`)
        .digest('hex'),
    );
    expect(trailer.signature.public_key).toBe(stateKey.publicKeyHex);
    expect(readFileSync(state).subarray(-1).toString()).toBe('\n');
    expect(readdirSync(d).filter((n) => n.endsWith('.tmp'))).toEqual([]);
  });

  describe('a state file that cannot be trusted is reported as tampered (exit 1), never used, never replaced', () => {
    const cases: [string, () => Promise<void>][] = [
      [
        'an entry edited, trailer left alone',
        async () => {
          const text = readFileSync(state, 'utf8');
          writeFileSync(
            state,
            text.replace(/^\["([^"]+)","[0-9a-f]{64}"/m, (_m, src: string) => `["${src}","${'0'.repeat(64)}"`),
          );
        },
      ],
      [
        'an entry dropped, SHA-256 recomputed, re-signed with another key',
        () => forgeState((e) => void e.splice(0, 1), otherKey.signer),
      ],
      ['an entry dropped, SHA-256 recomputed, signature removed', () => forgeState((e) => void e.splice(0, 1), null)],
      [
        'cut short (no trailer)',
        async () => {
          const lines = readFileSync(state, 'utf8').trimEnd().split('\n');
          writeFileSync(state, `${lines.slice(0, -1).join('\n')}\n`);
        },
      ],
      ['not a state file at all', async () => writeFileSync(state, '{"hello": "world"}\n')],
      [
        'signature bytes flipped',
        async () => {
          const text = readFileSync(state, 'utf8');
          writeFileSync(
            state,
            text.replace(/"value":"(.)/, (_m, c: string) => `"value":"${c === 'a' ? 'b' : 'a'}`),
          );
        },
      ],
    ];
    for (const [what, tamper] of cases) {
      it(what, async () => {
        await verify(['--init-state']);
        await tamper();
        const before = readFileSync(state);
        const r = await verify();
        expect(r.code).toBe(1);
        expect(r.report.state).toMatchObject({ status: 'tampered', written: false });
        expect(r.report.failures).toMatchObject([{ source: state, code: 'ERR_STATE_TAMPERED', kind: 'state' }]);
        expect(readFileSync(state).equals(before)).toBe(true);
        // Records are still verified.
        expect(r.report.totals.valid).toBe(5);
      });
    }

    it('a state file deleted under --state-key, unless --init-state says this is a first run', async () => {
      await verify(['--init-state']);
      rmSync(state);
      const r = await verify();
      expect(r.code).toBe(1);
      expect(r.report.failures).toMatchObject([{ source: state, code: 'ERR_STATE_TAMPERED' }]);
      expect(existsSync(state)).toBe(false);
      const again = await verify(['--init-state']);
      expect(again.code).toBe(0);
      expect(again.report.state?.status).toBe('baseline');
    });
  });

  it('without a key, an edit that leaves the SHA-256 stale is still caught', async () => {
    await runBatch(['verify', logs, ...PIN, '--state', state, '-q']);
    writeFileSync(state, readFileSync(state, 'utf8').replace(join(logs, 'a.json'), join(logs, 'z.json')));
    const r = await runBatch(['verify', logs, ...PIN, '--state', state, '--json', '-', '-q']);
    expect(r.code).toBe(1);
    expect((JSON.parse(r.stdout) as Report).failures).toMatchObject([{ code: 'ERR_STATE_TAMPERED' }]);
  });

  it("keeps the last complete state when some input could not be read (exit 2), and prints that state's digest", async () => {
    const first = await verify(['--init-state']);
    const kept = first.report.state!.digests![0]!;
    const before = readFileSync(state);
    const r = await runBatch([
      'verify',
      logs,
      join(d, 'not-mounted'),
      ...PIN,
      '--state',
      state,
      '--state-key',
      key,
      '--json',
      '-',
      '-q',
    ]);
    expect(r.code).toBe(2);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.state).toMatchObject({ status: 'compared', written: false });
    expect(report.state!.digests).toEqual([kept]);
    expect(r.stderr).toContain(`sequence 1, digest ${kept.digest} (not replaced by this run)`);
    expect(readFileSync(state).equals(before)).toBe(true);
  });

  it('a run stopped by SIGTERM leaves the previous state in place and no temporary file', async () => {
    await verify(['--init-state']);
    const before = readFileSync(state);
    const lines: string[] = [];
    for (let i = 0; i < 3000; i++) lines.push(JSON.stringify(await record2('2026-11-20')));
    const big = join(d, 'big.jsonl');
    writeFileSync(big, `${lines.join('\n')}\n`);
    const child = spawn(BATCH_BIN, ['verify', logs, big, ...PIN, '--state', state, '--state-key', key, '-q'], {
      stdio: 'ignore',
    });
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    while (!readdirSync(d).some((n) => n.endsWith('.tmp'))) {
      if (child.exitCode !== null) throw new Error('the run ended before it could be stopped');
      await new Promise((r) => setTimeout(r, 2));
    }
    child.kill('SIGTERM');
    expect(await exited).toBe(143);
    expect(readdirSync(d).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    expect(readFileSync(state).equals(before)).toBe(true);
  });

  it('the summary says whether verifier threads ran: none for one chunk or a rerun that kept every result', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 130; i++) lines.push(JSON.stringify(await record2('2026-11-20')));
    const many = join(d, 'many.jsonl');
    writeFileSync(many, `${lines.join('\n')}\n`);
    const run = async (inputs: string[], extra: string[]) =>
      (await runBatch(['verify', ...inputs, ...PIN, '--state', state, '--state-key', key, '--workers', '2', ...extra]))
        .stdout;
    // Five records: one chunk, verified on the calling thread.
    expect(await run([logs], ['--init-state'])).toMatch(/^erst-batch: 5 records in [\d.]+ s without worker threads,/);
    rmSync(state);
    expect(await run([many], ['--init-state'])).toMatch(/^erst-batch: 130 records in [\d.]+ s on 2 workers,/);
    // Nothing changed: every result kept, nothing verified.
    expect(await run([many], [])).toMatch(/^erst-batch: 130 records in [\d.]+ s without worker threads,/);
    expect(await run([many], ['--full'])).toMatch(/^erst-batch: 130 records in [\d.]+ s on 2 workers,/);
  });

  it('a state written for another shard is a usage error', async () => {
    await verify(['--init-state', '--shard', '1/2']);
    const r = await runBatch(['verify', logs, ...PIN, '--state', state, '--state-key', key, '--shard', '2/2']);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/error ERR_USAGE: .*--shard 1\/2/);
  });
});

describe('erst-batch verify --state: sequence and digest', () => {
  it("chains each state to the previous one; the digest is the trailer's SHA-256", async () => {
    const first = await verify(['--init-state']);
    const second = await verify(['--expect-state', first.report.state!.digests![0]!.digest]);
    expect(second.code).toBe(0);
    const [d2] = second.report.state!.digests!;
    const lines = readFileSync(state, 'utf8').trimEnd().split('\n');
    expect(JSON.parse(lines[0]!)).toMatchObject({
      erst_batch_state: 3,
      sequence: 2,
      previous: first.report.state!.digests![0]!.digest,
    });
    expect((JSON.parse(lines.at(-1)!) as { end: { sha256: string } }).end.sha256).toBe(d2!.digest);
    expect(second.stderr).toContain(`erst-batch: state ${state}: sequence 2, digest ${d2!.digest}\n`);
  });

  it('gives the same state, and digest, whatever the worker count', async () => {
    const lines: string[] = [];
    for (let i = 0; i < 300; i++) lines.push(i % 50 === 7 ? 'not json' : JSON.stringify(await record2('2026-11-20')));
    writeFileSync(join(logs, 'many.jsonl'), `${lines.join('\n')}\n`);
    const digests: string[] = [];
    const states: Buffer[] = [];
    for (const w of ['1', '2', '4']) {
      rmSync(state, { force: true });
      const r = await runBatch([
        'verify',
        logs,
        join(logs, 'many.jsonl'),
        ...PIN,
        '--state',
        state,
        '--workers',
        w,
        '--json',
        '-',
        '-q',
      ]);
      digests.push((JSON.parse(r.stdout) as Report).state!.digests![0]!.digest);
      states.push(readFileSync(state));
    }
    expect(new Set(digests).size).toBe(1);
    expect(states[1]!.equals(states[0]!)).toBe(true);
    expect(states[2]!.equals(states[0]!)).toBe(true);
  });

  it('loads a state written before sequences (version 1) as sequence 0, and still diffs against it', async () => {
    const entries = ['a', 'b', 'c', 'sub/d'].map((n) =>
      JSON.stringify([join(logs, `${n}.json`), 'x'.repeat(64), 'y'.repeat(64)]),
    );
    const body = `${[JSON.stringify({ erst_batch_state: 1, shard: null }), ...entries].join('\n')}\n`;
    const digest = createHash('sha256').update(body).digest('hex');
    writeFileSync(
      state,
      `${body}${JSON.stringify({ end: { records: entries.length, sha256: digest, signature: null } })}\n`,
    );
    const r = await runBatch(['verify', logs, ...PIN, '--state', state, '--expect-state', digest, '--json', '-', '-q']);
    const report = JSON.parse(r.stdout) as Report;
    expect(report.state).toMatchObject({ status: 'compared', written: true });
    expect(report.state!.digests![0]).toMatchObject({ sequence: 1, previous_digest: digest });
    expect(report.changed).toHaveLength(4);
  });

  it('--expect-state takes a digest, with --state', async () => {
    for (const args of [
      ['--expect-state', 'abc', '--state', state],
      ['--expect-state', 'a'.repeat(64)],
    ]) {
      const r = await runBatch(['verify', logs, ...PIN, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/^erst-batch: error ERR_USAGE: /);
    }
  });
});
