import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { bytesToHex } from '@erst/core';
import { run, tempDir } from '@erst/fixtures';
import { AsnConvert } from '@peculiar/asn1-schema';
import { PKIFreeText, PKIStatus, PKIStatusInfo, TimeStampResp } from '@peculiar/asn1-tsp';
import { describe, expect, it } from 'vitest';
import { createTimestampRequest, parseTimestampResponse } from '../index.js';
import { IMPRINT } from './helpers.js';

function reply(status: PKIStatus, text?: string[]): Uint8Array {
  const statusInfo = new PKIStatusInfo({ status, ...(text ? { statusString: new PKIFreeText(text) } : {}) });
  return new Uint8Array(AsnConvert.serialize(new TimeStampResp({ status: statusInfo })));
}

function thrown(fn: () => unknown): { code: string; message: string; details?: unknown } {
  try {
    fn();
  } catch (e) {
    return e as { code: string; message: string };
  }
  throw new Error('expected a throw');
}

describe('createTimestampRequest', () => {
  it('writes a TimeStampReq openssl reads as SHA-256 of the imprint, with the nonce and certReq', async () => {
    const { request, nonce } = createTimestampRequest(IMPRINT);
    const dir = tempDir('erst-tsq-');
    writeFileSync(join(dir, 'q.tsq'), request);
    const r = await run('openssl', ['ts', '-query', '-in', join(dir, 'q.tsq'), '-text']);
    expect(r.code).toBe(0);
    expect(r.stdout).toContain('Hash Algorithm: sha256');
    expect(r.stdout).toContain('Certificate required: yes');
    expect(r.stdout).toContain(`Nonce: 0x${nonce.toUpperCase()}`);
    // openssl dumps the hashed message 16 bytes a line: "0000 - 58 91 ... 08-6d 0f ... d2   X...".
    const dump = [...r.stdout.matchAll(/^\s+[0-9a-f]{4} - ((?:[0-9a-f]{2}[ -]){15}[0-9a-f]{2})/gm)]
      .map((m) => m[1]!.replace(/[ -]/g, ''))
      .join('');
    expect(dump).toBe(bytesToHex(IMPRINT));
  });

  it('takes a fresh nonce each time, from the WebCrypto given', () => {
    const nonces = new Set(Array.from({ length: 50 }, () => createTimestampRequest(IMPRINT).nonce));
    expect(nonces.size).toBe(50);
    const fixed = {
      getRandomValues: <T extends ArrayBufferView>(a: T) => new Uint8Array(a.buffer).fill(0xff) && a,
    } as Crypto;
    // Every bit set: the top one is cleared so that the INTEGER stays positive.
    expect(createTimestampRequest(IMPRINT, { crypto: fixed }).nonce).toBe(`7f${'ff'.repeat(15)}`);
  });

  it('refuses an imprint that is not 32 bytes: ERR_OPTIONS_INVALID naming `imprint`', () => {
    for (const bad of [new Uint8Array(31), new Uint8Array(33), 'ab'.repeat(32)]) {
      const e = thrown(() => createTimestampRequest(bad as Uint8Array));
      expect(e.code).toBe('ERR_OPTIONS_INVALID');
      expect(e.details).toEqual({ options: ['imprint'] });
    }
  });
});

describe('parseTimestampResponse', () => {
  it('refuses every status but granted, quoting the status text escaped and cut', () => {
    const e = thrown(() => parseTimestampResponse(reply(PKIStatus.rejection, ['no\n\u001b[2Kway', 'at all'])));
    expect(e.code).toBe('ERR_TSA_REJECTED');
    expect(e.message).toBe('the TSA answered rejection: "no\\u000a\\u001b[2Kway; at all"');
    expect(e.details).toEqual({ status: 'rejection', failInfo: [] });
    const long = thrown(() => parseTimestampResponse(reply(PKIStatus.waiting, ['x'.repeat(1000)])));
    expect(long.code).toBe('ERR_TSA_REJECTED');
    expect(long.message.length).toBeLessThan(300);
    expect(thrown(() => parseTimestampResponse(reply(PKIStatus.revocationWarning))).message).toBe(
      'the TSA answered revocationWarning',
    );
  });

  it('granted without a token, or no TimeStampResp at all: ERR_TSA_RESPONSE_MALFORMED', () => {
    for (const bad of [reply(PKIStatus.granted), new Uint8Array([1, 2, 3]), new Uint8Array(0)]) {
      expect(thrown(() => parseTimestampResponse(bad)).code).toBe('ERR_TSA_RESPONSE_MALFORMED');
    }
  });
});
