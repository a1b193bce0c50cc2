import { openPkcs11Signer, generateTokenKeyPair } from '@erst/signer-pkcs11';
import { sha256 } from '@erst/core';
import pkcs11js from 'pkcs11js';
const mode = process.argv[2];
const module = '/usr/lib/softhsm/libsofthsm2.so';
const base = { module, tokenLabel: 'exp token', pin: '123456' };
const raw = new pkcs11js.PKCS11(); raw.load(module); try { raw.C_Initialize({flags: pkcs11js.CKF_OS_LOCKING_OK}); } catch {}
const slot = raw.C_GetSlotList(true).find(s => raw.C_GetTokenInfo(s).label.trim() === 'exp token');
for (let round = 0; round < 150; round++) {
  const s = await openPkcs11Signer({ ...base, keyLabel: 'ed', poolSize: 4 });
  let next = 0, done = 0;
  await Promise.all(Array.from({length: 8}, async () => { while (next < 300) { const i = next++; await s.sign(sha256(Buffer.from(String(i)))); if (++done === 100) { if (mode === 'logout') { const h = raw.C_OpenSession(slot, pkcs11js.CKF_SERIAL_SESSION); raw.C_Logout(h); } else raw.C_CloseAllSessions(slot); } } }));
  await s.close();
}
console.log(mode, 'ok');
