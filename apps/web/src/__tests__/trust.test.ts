import { readFileSync } from 'node:fs';
import { SIGNING_PUBLIC_KEY_HEX, thrownError, vectorPath } from '@erst/fixtures';
import type { TrustPolicy } from '@erst/verify';
import { describe, expect, it } from 'vitest';
import { type TrustInput, splitKeys, trustOptions } from '../trust.js';

const ROOT_PEM = readFileSync(vectorPath('attestation-chain/root.pem'), 'utf8');
const NONE: TrustInput = {
  keysText: '',
  trustFiles: [],
  rootFiles: [],
  rootsText: '',
  logKeysText: '',
  requireAttestation: false,
  tsaRootFiles: [],
  tsaRootsText: '',
  requireTimestamp: false,
};

function trustFile(roots: string[]): { name: string; text: string } {
  return {
    name: 'trust.json',
    text: JSON.stringify({
      keys: [{ public_key: SIGNING_PUBLIC_KEY_HEX, algorithm: 'ed25519', label: 'prod' }],
      attestation_roots: roots,
    }),
  };
}

describe("the page's trust fields", () => {
  it('pasted keys: hex lines and PEM blocks, blank lines ignored', () => {
    const pem =
      '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----';
    expect(splitKeys(`\n ${SIGNING_PUBLIC_KEY_HEX} \n\n${pem}\n`)).toEqual([pem, SIGNING_PUBLIC_KEY_HEX]);
  });

  it('nothing given: no trust material at all (results are embedded-only)', () => {
    expect(trustOptions(NONE)).toEqual({ publicKeys: [], trust: [], attestationRoots: [], requireAttestation: false });
  });

  it("a trust file's root path resolves to the PEM file picked with it, by name", () => {
    const o = trustOptions({
      ...NONE,
      trustFiles: [trustFile(['roots/root.pem']), { name: 'root.pem', text: ROOT_PEM }],
    });
    const [policy] = o.trust as readonly TrustPolicy[];
    expect(policy!.keys[0]!.label).toBe('prod');
    expect(policy!.attestationRoots).toEqual([ROOT_PEM]);
  });

  it("a trust file's root that was not picked with it is ERR_TRUST_FILE_INVALID, naming the entry", () => {
    const e = thrownError(() => trustOptions({ ...NONE, trustFiles: [trustFile(['roots/root.pem'])] }));
    expect(e?.code).toBe('ERR_TRUST_FILE_INVALID');
    expect(e?.message).toContain('attestation_roots[0]');
  });

  it('a root that is not a certificate is ERR_OPTIONS_INVALID naming `attestationRoots`, never quoting the file', () => {
    const e = thrownError(() =>
      trustOptions({ ...NONE, rootFiles: [{ name: 'bad.pem', text: 'secret text, not a certificate' }] }),
    );
    expect(e?.code).toBe('ERR_OPTIONS_INVALID');
    expect(e?.details?.options).toEqual(['attestationRoots']);
    expect(e?.message).not.toContain('secret');
  });

  it('roots pasted as PEM, log keys one a line, and "require attestation" pass through', () => {
    const o = trustOptions({
      ...NONE,
      rootsText: `junk before\n${ROOT_PEM}\n`,
      logKeysText: '\nexample.com/log+abcd1234+AQID\n',
      requireAttestation: true,
    });
    expect(o.attestationRoots).toEqual([ROOT_PEM.trim()]);
    expect(o.logKeys).toEqual(['example.com/log+abcd1234+AQID']);
    expect(o.requireAttestation).toBe(true);
  });

  it('TSA roots (files and pasted PEM) and "require a timestamp" pass through as --tsa-root and --require-timestamp', () => {
    const o = trustOptions({
      ...NONE,
      tsaRootFiles: [{ name: 'tsa-root.pem', text: ROOT_PEM }],
      tsaRootsText: `pasted:\n${ROOT_PEM}`,
      requireTimestamp: true,
    });
    expect(o.tsaRoots).toEqual([ROOT_PEM, ROOT_PEM.trim()]);
    expect(o.requireTimestamp).toBe(true);
    // Left out when not given, as loadTrustOptions leaves them out: the report's trust summary stays as it was.
    expect(Object.keys(trustOptions(NONE))).not.toContain('tsaRoots');
    expect(Object.keys(trustOptions(NONE))).not.toContain('requireTimestamp');
  });

  it('a TSA root that is not a certificate is ERR_OPTIONS_INVALID naming `tsaRoots`, never quoting the file', () => {
    const e = thrownError(() =>
      trustOptions({ ...NONE, tsaRootFiles: [{ name: 'tsa.pem', text: 'secret, no cert' }] }),
    );
    expect(e?.code).toBe('ERR_OPTIONS_INVALID');
    expect(e?.details?.options).toEqual(['tsaRoots']);
    expect(e?.message).toContain('tsa.pem');
    expect(e?.message).not.toContain('secret');
  });
});
