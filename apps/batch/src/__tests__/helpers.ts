import { chmodSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { type AuditRecord, generateWithSigner } from '@erst/core';
import { REPO_ROOT, SIGNING_KEY_PEM, readVectorLines, runBatch, tempDir } from '@erst/fixtures';
import { afterAll } from 'vitest';
import { InMemorySigner, generateKeyPair } from '@erst/signer-memory';
import tar from 'tar-stream';
import type { Report } from '@erst/batch-verify';

export const BATCH_BIN = join(REPO_ROOT, 'node_modules', '.bin', 'erst-batch');
export { runBatch };

export const signer = InMemorySigner.fromPem(SIGNING_KEY_PEM);
export const stranger = generateKeyPair().signer;

let txCounter = 0;
/** A distinct 64-hex transaction hash per call. */
export function txHash(): string {
  txCounter++;
  return txCounter.toString(16).padStart(64, 'a');
}

/** A 2.0.0 record signed at the given day. */
export async function record2(
  day: string,
  by: InMemorySigner = signer,
  extra: Record<string, string> = {},
): Promise<AuditRecord> {
  return generateWithSigner(
    by,
    {
      transactionHash: txHash(),
      payload: { envelope_xdr: 'AAAA', result_meta_xdr: 'BBBB', events: ['e1'], logs: ['l <b>&</b>'], ...extra },
    },
    { attestation: null, now: () => new Date(`${day}T08:00:00.000Z`) },
  );
}

export const vectorRecords = {
  'go-1.1.0': readVectorLines('erst-go-1.1.0.jsonl'),
  'go-1.0.0': readVectorLines('erst-go-1.0.0.jsonl'),
  ts: readVectorLines('erst-ts-legacy.jsonl'),
};

/** Flips one hex digit of the signature: integrity fails, the record still parses. */
export function breakSignature(line: string): string {
  return line.replace(/"signature":"(.)/, (_m, c: string) => `"signature":"${c === '0' ? '1' : '0'}`);
}

export interface Member {
  name: string;
  data: string | Buffer;
  type?: 'file' | 'directory';
}

/** A tar archive in memory, and where each member's data starts (ustar, short names: no extended headers). */
export async function makeTar(members: Member[]): Promise<{ tar: Buffer; dataOffset: number[] }> {
  const pack = tar.pack();
  const dataOffset: number[] = [];
  let off = 0;
  for (const m of members) {
    const data = typeof m.data === 'string' ? Buffer.from(m.data, 'utf8') : m.data;
    dataOffset.push(off + 512);
    off += 512 + Math.ceil(data.length / 512) * 512;
    if (m.type === 'directory') pack.entry({ name: m.name, type: 'directory' });
    else pack.entry({ name: m.name, mtime: new Date('2026-11-26T00:00:00Z') }, data);
  }
  pack.finalize();
  const chunks: Buffer[] = [];
  for await (const c of pack as AsyncIterable<Buffer>) chunks.push(c);
  return { tar: Buffer.concat(chunks), dataOffset };
}

export function gzip(b: Buffer): Buffer {
  return gzipSync(b);
}

export function readReport(path: string): Report {
  return JSON.parse(readFileSync(path, 'utf8')) as Report;
}

export function writeKey(dir: string, pem: string, name = 'state.pem'): string {
  const p = join(dir, name);
  writeFileSync(p, pem, { mode: 0o600 });
  chmodSync(p, 0o600);
  return p;
}

/** Any line of stderr that looks like a stack frame. */
export function hasStackTrace(text: string): boolean {
  return /^\s+at .+[:(]\d+/m.test(text);
}

const made: string[] = [];
/** A temporary directory, removed when the test file is done. */
export function scratchDir(prefix: string): string {
  const d = tempDir(prefix);
  made.push(d);
  return d;
}
afterAll(() => {
  for (const d of made.splice(0)) rmSync(d, { recursive: true, force: true });
});
