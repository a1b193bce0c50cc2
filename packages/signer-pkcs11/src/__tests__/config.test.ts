import { inspect } from 'node:util';
import { bytesToHex } from '@erst/core';
import { describe, expect, it } from 'vitest';
import { parseCertificateBundle, parseKeyId, parsePivSlot, parseSlot, pkcs11ConfigFromEnv } from '../config.js';

/** What `fn` throws: code, message and details (undefined when it does not throw). */
function thrownError(fn: () => unknown): { code: unknown; message: unknown; details: unknown } | undefined {
  try {
    fn();
  } catch (e) {
    const { code, message, details } = e as { code?: unknown; message?: unknown; details?: unknown };
    return { code, message, details };
  }
  return undefined;
}

const PIN = 'Secret-PIN-4711';

describe('pkcs11ConfigFromEnv', () => {
  const env = {
    ERST_PKCS11_MODULE: '/usr/lib/softhsm/libsofthsm2.so',
    ERST_PKCS11_PIN: PIN,
    ERST_PKCS11_TOKEN_LABEL: 'prod',
    ERST_PKCS11_SLOT: '2',
    ERST_PKCS11_KEY_LABEL: 'audit',
    ERST_PKCS11_KEY_ID: '0a0b',
    ERST_PKCS11_PIV_SLOT: '9c',
    ERST_PKCS11_ALGORITHM: 'ecdsa-p256',
  };

  it('reads every ERST_PKCS11_* variable', () => {
    const c = pkcs11ConfigFromEnv(env);
    expect(c).toMatchObject({
      module: '/usr/lib/softhsm/libsofthsm2.so',
      tokenLabel: 'prod',
      slot: 2,
      keyLabel: 'audit',
      keyId: '0a0b',
      pivSlot: '9c',
      algorithm: 'ecdsa-p256',
    });
    expect(c.pin).toBe(PIN);
  });

  it('lets defined overrides (flags) win and ignores undefined ones', () => {
    const c = pkcs11ConfigFromEnv(env, { keyLabel: 'other', tokenLabel: undefined, pin: 'flag-pin' });
    expect(c.keyLabel).toBe('other');
    expect(c.tokenLabel).toBe('prod');
    expect(c.pin).toBe('flag-pin');
  });

  it('keeps the PIN out of JSON, inspection and spreads', () => {
    const c = pkcs11ConfigFromEnv(env);
    expect(JSON.stringify(c)).not.toContain(PIN);
    expect(inspect(c, { depth: 5 })).not.toContain(PIN);
    expect(JSON.stringify({ ...c })).not.toContain(PIN);
  });

  it('treats empty variables as unset', () => {
    const c = pkcs11ConfigFromEnv({ ERST_PKCS11_MODULE: '', ERST_PKCS11_PIN: '' });
    expect(c.module).toBeUndefined();
    expect(c.pin).toBeUndefined();
  });

  // ERR_USAGE belongs to the command lines; a library names the variable or option it refused.
  it('refuses malformed slot and algorithm values with ERR_OPTIONS_INVALID, naming the variable', () => {
    expect(thrownError(() => pkcs11ConfigFromEnv({ ERST_PKCS11_SLOT: 'one' }))).toEqual({
      code: 'ERR_OPTIONS_INVALID',
      message: 'ERST_PKCS11_SLOT must be a slot index (0, 1, ...) or slot ID, not "one"',
      details: { options: ['ERST_PKCS11_SLOT'] },
    });
    expect(() => pkcs11ConfigFromEnv({ ERST_PKCS11_ALGORITHM: 'rsa' })).toThrow(
      expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }),
    );
  });
});

describe('parsers', () => {
  it('parses slots as non-negative integers', () => {
    expect(parseSlot('0')).toBe(0);
    expect(parseSlot(' 17 ')).toBe(17);
    for (const bad of ['-1', '1.5', '', '01x'])
      expect(() => parseSlot(bad)).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }));
  });

  it('parses key IDs in hex with optional 0x and colons', () => {
    expect(bytesToHex(parseKeyId('01'))).toBe('01');
    expect(bytesToHex(parseKeyId('0xA1B2'))).toBe('a1b2');
    expect(bytesToHex(parseKeyId('a1:b2:c3'))).toBe('a1b2c3');
    for (const bad of ['', 'xyz', '123'])
      expect(() => parseKeyId(bad)).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }));
    // In API terms: the option's name, never a command-line flag.
    expect(thrownError(() => parseKeyId('xyz'))).toEqual({
      code: 'ERR_OPTIONS_INVALID',
      message: '`keyId` must be hex bytes (for example 01 or a1b2c3), not "xyz"',
      details: { options: ['keyId'] },
    });
  });

  it('maps YubiKey PIV slots to ykcs11 CKA_IDs', () => {
    const id = (s: string) => parsePivSlot(s).id[0];
    expect([id('9a'), id('9c'), id('9d'), id('9e'), id('82'), id('95'), id('f9'), id('0x9C')]).toEqual([
      1, 2, 3, 4, 5, 24, 25, 2,
    ]);
    for (const bad of ['9b', '81', '96', 'fa', ''])
      expect(() => parsePivSlot(bad)).toThrow(expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }));
  });

  it('splits PEM bundles into DER certificates', () => {
    const block = (b64: string) => `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
    const ders = parseCertificateBundle(`junk\n${block('MAEC')}${block('MAED')}`);
    expect(ders.map(bytesToHex)).toEqual(['300102', '300103']);
    expect(() => parseCertificateBundle('no certificates here')).toThrow(
      expect.objectContaining({ code: 'ERR_OPTIONS_INVALID' }),
    );
  });
});
