import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { type P11, pk } from '../constants.js';
import { type TokenRef, login } from '../token.js';

// SoftHSM (tests/softhsm) never locks a PIN and never raises the PIN-count
// flags, so the messages for a token that does (a YubiKey after wrong PINs,
// an HSM with a lockout policy) are checked here against a scripted token:
// C_GetTokenInfo returns `flags`, C_Login throws `error`.
const PIN = 'Secret-PIN-4711';

function token(flags: number, error?: string): { p11: P11; ref: TokenRef; logins: () => number } {
  let logins = 0;
  const info = {
    label: 'yubikey'.padEnd(32),
    model: 'YubiKey YK5'.padEnd(16),
    manufacturerID: 'Yubico'.padEnd(32),
    serialNumber: '1234'.padEnd(16),
    flags,
    minPinLen: 6,
    maxPinLen: 8,
  };
  const p11 = {
    C_GetTokenInfo: () => info,
    C_Login: () => {
      logins++;
      if (error) throw Object.assign(new Error(error), { method: 'C_Login' });
    },
  } as unknown as P11;
  const ref = {
    slot: Buffer.alloc(8),
    index: 0,
    slotId: 0n,
    label: 'yubikey',
    model: 'YubiKey YK5',
    manufacturer: 'Yubico',
    serial: '1234',
    flags,
    initialized: true,
    info,
  } as unknown as TokenRef;
  return { p11, ref, logins: () => logins };
}

function loginError(flags: number, error?: string): { error: unknown; logins: number } {
  const t = token(flags, error);
  try {
    login(t.p11, Buffer.alloc(8), t.ref, PIN);
  } catch (e) {
    return { error: e, logins: t.logins() };
  }
  return { error: undefined, logins: t.logins() };
}

describe('login on a token that counts wrong PINs', () => {
  it('refuses a locked PIN before trying it, and says the SO PIN or PUK resets it', () => {
    const { error, logins } = loginError(pk.CKF_USER_PIN_LOCKED);
    expect(logins).toBe(0);
    expect(error).toMatchObject({
      code: 'ERR_PKCS11_PIN_LOCKED',
      message: expect.stringMatching(/locked.*Security Officer PIN.*PUK/),
    });
  });

  it('maps CKR_PIN_LOCKED from C_Login to ERR_PKCS11_PIN_LOCKED', () => {
    const { error } = loginError(0, 'CKR_PIN_LOCKED');
    expect(error).toMatchObject({
      code: 'ERR_PKCS11_PIN_LOCKED',
      message: expect.stringContaining('ykman piv access unblock-pin'),
    });
  });

  it('passes on the token\'s "count low" and "final try" flags with a wrong PIN', () => {
    const low = loginError(pk.CKF_USER_PIN_COUNT_LOW, 'CKR_PIN_INCORRECT').error;
    expect(low).toMatchObject({
      code: 'ERR_PKCS11_PIN_INCORRECT',
      details: { pin_count_low: true, pin_final_try: false },
    });
    expect((low as Error).message).toContain('CKF_USER_PIN_COUNT_LOW');
    const last = loginError(pk.CKF_USER_PIN_FINAL_TRY | pk.CKF_USER_PIN_COUNT_LOW, 'CKR_PIN_INCORRECT').error;
    expect(last).toMatchObject({ code: 'ERR_PKCS11_PIN_INCORRECT', details: { pin_final_try: true } });
    expect((last as Error).message).toContain('one more wrong PIN locks it');
  });

  it('never shows the PIN in any of these errors', () => {
    for (const [flags, ckr] of [
      [pk.CKF_USER_PIN_LOCKED, undefined],
      [0, 'CKR_PIN_LOCKED'],
      [pk.CKF_USER_PIN_FINAL_TRY, 'CKR_PIN_INCORRECT'],
      [0, 'CKR_PIN_LEN_RANGE'],
      [0, 'CKR_GENERAL_ERROR'],
    ] as const) {
      const { error } = loginError(flags, ckr);
      expect(error).toBeDefined();
      expect(inspect(error, { depth: 10 })).not.toContain(PIN);
      expect(JSON.stringify(error)).not.toContain(PIN);
    }
  });
});
