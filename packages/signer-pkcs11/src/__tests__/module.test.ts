import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireModule, ckrName, initializeHint, isSessionLost, safeCause } from '../module.js';

describe('loading a PKCS#11 module', () => {
  it('names the path when the module file is missing', () => {
    expect(() => acquireModule('/nonexistent/libpkcs11.so')).toThrow(
      expect.objectContaining({
        code: 'ERR_PKCS11_MODULE',
        message: expect.stringContaining('/nonexistent/libpkcs11.so'),
      }),
    );
  });

  it('says how to configure it when no module is given', () => {
    expect(() => acquireModule(undefined)).toThrow(
      expect.objectContaining({ code: 'ERR_PKCS11_MODULE', message: expect.stringContaining('ERST_PKCS11_MODULE') }),
    );
  });

  it('refuses a file that is not a shared library, and a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erst-p11-'));
    const file = join(dir, 'not-a-library.so');
    writeFileSync(file, 'this is not ELF');
    expect(() => acquireModule(file)).toThrow(
      expect.objectContaining({ code: 'ERR_PKCS11_MODULE', message: expect.stringContaining(file) }),
    );
    expect(() => acquireModule(dir)).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_MODULE' }));
  });
});

describe('what to check when C_Initialize fails', () => {
  const dir = mkdtempSync(join(tmpdir(), 'erst-p11-conf-'));
  const conf = (name: string, tokendir: string | null) => {
    const file = join(dir, name);
    writeFileSync(
      file,
      tokendir === null ? 'log.level = ERROR\n' : `directories.tokendir = ${tokendir}\nlog.level = ERROR\n`,
    );
    return file;
  };

  it('names the module path, SOFTHSM2_CONF and the token directory as what to check', () => {
    for (const hint of [initializeHint({}), initializeHint({ SOFTHSM2_CONF: conf('any.conf', dir) })]) {
      expect(hint).toMatch(/module path/);
      expect(hint).toMatch(/SOFTHSM2_CONF/);
      expect(hint).toMatch(/tokendir/);
    }
  });

  it('says which of them is wrong', () => {
    const tokens = join(dir, 'tokens');
    mkdirSync(tokens);
    expect(initializeHint({})).toContain('SOFTHSM2_CONF is unset');
    expect(initializeHint({ SOFTHSM2_CONF: join(dir, 'missing.conf') })).toContain(
      `${join(dir, 'missing.conf')} does not exist`,
    );
    expect(initializeHint({ SOFTHSM2_CONF: dir })).toContain('is not a file');
    expect(initializeHint({ SOFTHSM2_CONF: conf('none.conf', null) })).toContain('sets no directories.tokendir');
    expect(initializeHint({ SOFTHSM2_CONF: conf('gone.conf', join(dir, 'gone')) })).toContain(
      `tokendir ${join(dir, 'gone')} in SOFTHSM2_CONF`,
    );
    expect(initializeHint({ SOFTHSM2_CONF: conf('ok.conf', tokens) })).toContain('exist');
  });
});

describe('PKCS#11 error helpers', () => {
  const err = Object.assign(new Error('CKR_USER_NOT_LOGGED_IN'), {
    code: 0x101,
    method: 'C_SignInit',
    nativeStack: 'secret args?',
  });

  it('reads CKR names and classifies lost sessions', () => {
    expect(ckrName(err)).toBe('CKR_USER_NOT_LOGGED_IN');
    expect(isSessionLost(err)).toBe(true);
    expect(isSessionLost(new Error('CKR_PIN_INCORRECT'))).toBe(false);
    expect(isSessionLost(new Error('something else'))).toBe(false);
  });

  it('keeps only the CKR name and function in causes', () => {
    const c = safeCause(err);
    expect(c.message).toBe('CKR_USER_NOT_LOGGED_IN in C_SignInit');
    expect(JSON.stringify(c)).not.toContain('secret');
    expect(c.stack ?? '').not.toContain('secret');
  });
});
