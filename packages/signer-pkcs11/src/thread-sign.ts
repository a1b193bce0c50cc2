import { createRequire } from 'node:module';
import { SESSION_LOST } from './module.js';

/**
 * What one thread signs with in a Pkcs11Signer's ThreadSigning (@erst/core):
 * structured-cloned to it (handles are process-wide). Each thread signs on a
 * session of its own, which `release` closes.
 */
export interface ThreadSignerData {
  /** pkcs11js' main file, resolved here: the thread's module is a data: URL, which cannot resolve packages. */
  readonly pkcs11js: string;
  /** The PKCS#11 library the signer initialized and logged into: dlopen hands the thread the same one. */
  readonly module: string;
  readonly session: Uint8Array;
  readonly key: Uint8Array;
  readonly mechanism: number;
  /** The token's label, for messages. */
  readonly token: string;
}

// The thread's side, inline (a data: URL) so that it runs the same from
// source under test and from dist, bundled or not. It never calls
// C_Initialize, C_Finalize or C_CloseSession: the library's state and the
// sessions belong to the signer on the main thread. Ed25519 only: CKM_EDDSA
// returns the 64-byte RFC 8032 signature as is (ECDSA would need the
// signer's DER and low-S normalization, and keeps to the signer).
// Errors are ErstError-shaped (name and code, the CKR name only: never an
// argument) so that the batch reports them as it reports the signer's.
const THREAD_SIGNER = `
import { createRequire } from 'node:module';
const LOST = new Set(${JSON.stringify([...SESSION_LOST])});
const failure = (code, message) => Object.assign(new Error(message), { name: 'ErstError', code });
export function openThreadSigner(d) {
  const pkcs11js = createRequire(d.pkcs11js)(d.pkcs11js);
  const p11 = new pkcs11js.PKCS11();
  p11.load(d.module);
  const session = Buffer.from(d.session);
  const key = Buffer.from(d.key);
  const mechanism = { mechanism: d.mechanism };
  const out = Buffer.alloc(72);
  return (digest) => {
    let sig;
    try {
      p11.C_SignInit(session, mechanism, key);
      sig = p11.C_Sign(session, Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength), out);
    } catch (e) {
      const name = String((e && e.message) || e).split('\\n')[0];
      if (!/^CKR_[A-Z0-9_]+$/.test(name)) throw failure('ERR_PKCS11', 'signing on token "' + d.token + '" failed with a native error');
      // A session lost mid-batch is not recovered on a thread: the batch stops, and a rerun resumes it.
      if (LOST.has(name)) throw failure('ERR_PKCS11_SESSION', 'signing: the session to token "' + d.token + '" was lost (' + name + '): run the batch again to resume');
      throw failure('ERR_PKCS11', 'signing on token "' + d.token + '" failed with ' + name);
    }
    if (sig.length !== 64) throw failure('ERR_PKCS11', 'the token returned a ' + sig.length + '-byte Ed25519 signature; expected 64');
    return new Uint8Array(sig);
  };
}
`;

/** The module each signing thread imports (see ThreadSigning). */
export const THREAD_SIGNER_MODULE = `data:text/javascript,${encodeURIComponent(THREAD_SIGNER)}`;

/** Where pkcs11js is, for the threads (resolved once). */
export function pkcs11jsPath(): string {
  return createRequire(import.meta.url).resolve('pkcs11js');
}
