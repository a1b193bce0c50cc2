import { describe, expect, it } from 'vitest';
import { errorCode } from '@erst/fixtures';
import { hexToBytes } from '../bytes.js';
import { parsePublicKey, publicKeyFromPem, publicKeyFromRaw, publicKeyToPem } from '../keys.js';

const key = publicKeyFromRaw(hexToBytes('48409627ab71f72af0d7393748918cf1f7b81eeedcaaf9d709a01443e8a22816')!);
const other = publicKeyFromRaw(new Uint8Array(32).fill(9));
const PEM = publicKeyToPem(key);

describe('publicKeyFromPem', () => {
  it('reads one block, with or without the final line break, with LF or CRLF lines', () => {
    expect(PEM.endsWith('-----END PUBLIC KEY-----\n')).toBe(true);
    for (const pem of [PEM, PEM.trimEnd(), PEM.replaceAll('\n', '\r\n')])
      expect(publicKeyFromPem(pem).raw).toEqual(key.raw);
  });

  it.each([
    ['text before the block', `comment\n${PEM}`],
    ['text after the block', `${PEM}trailing text`],
    ['a second block', PEM + publicKeyToPem(other)],
    ['a second block before it', publicKeyToPem(other) + PEM],
    ['two line breaks after it', `${PEM}\n`],
    ['spaces inside the base64', PEM.replace('\n', '\n ')],
    ['a private key label', PEM.replaceAll('PUBLIC KEY', 'PRIVATE KEY')],
  ])('refuses %s', (_name, pem) => {
    expect(errorCode(() => publicKeyFromPem(pem))).toBe('ERR_PUBLIC_KEY_FORMAT');
  });

  it('parsePublicKey still takes a PEM a person pasted with surrounding blank lines', () => {
    expect(parsePublicKey(`\n\n  ${PEM}\n\n`).raw).toEqual(key.raw);
    expect(errorCode(() => parsePublicKey(PEM + publicKeyToPem(other)))).toBe('ERR_PUBLIC_KEY_FORMAT');
  });
});
