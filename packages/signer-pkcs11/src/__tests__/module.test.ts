import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { acquireModule, ckrName, isSessionLost, safeCause } from '../module.js';

describe('loading a PKCS#11 module', () => {
  it('names the path when the module file is missing', () => {
    expect(() => acquireModule('/nonexistent/libpkcs11.so')).toThrow(
      expect.objectContaining({ code: 'ERR_PKCS11_MODULE', message: expect.stringContaining('/nonexistent/libpkcs11.so') }),
    );
  });

  it('says how to configure it when no module is given', () => {
    expect(() => acquireModule(undefined)).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_MODULE', message: expect.stringContaining('ERST_PKCS11_MODULE') }));
  });

  it('refuses a file that is not a shared library, and a directory', () => {
    const dir = mkdtempSync(join(tmpdir(), 'erst-p11-'));
    const file = join(dir, 'not-a-library.so');
    writeFileSync(file, 'this is not ELF');
    expect(() => acquireModule(file)).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_MODULE', message: expect.stringContaining(file) }));
    expect(() => acquireModule(dir)).toThrow(expect.objectContaining({ code: 'ERR_PKCS11_MODULE' }));
  });
});

describe('PKCS#11 error helpers', () => {
  const err = Object.assign(new Error('CKR_USER_NOT_LOGGED_IN'), { code: 0x101, method: 'C_SignInit', nativeStack: 'secret args?' });

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
