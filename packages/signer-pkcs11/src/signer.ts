import { createPublicKey, verify as nodeVerify } from 'node:crypto';
import { availableParallelism } from 'node:os';
import {
  type Algorithm,
  bytesToHex,
  digestError,
  ErstError,
  equalBytes,
  type HardwareAttestation,
  isErstError,
  messageError,
  type PublicKey,
  publicKeyFromPem,
  type Signer,
  sha256,
  type ThreadSigning,
} from '@erst/core';
// Types only: noble's P-256 is loaded by an ECDSA signer alone (an Ed25519 key checks with node:crypto).
import type { p256 as P256 } from '@noble/curves/nist.js';
import { collectAttestation } from './attestation.js';
import {
  type AttestationMode,
  type Pkcs11Config,
  parseAlgorithm,
  parseCertificateBundle,
  parseKeyId,
  parsePivSlot,
  pkcs11ConfigFromEnv,
} from './config.js';
import { CKM_EDDSA, type Handle, mechanismName, type P11, pk } from './constants.js';
import {
  acquireModule,
  addLogin,
  ckrName,
  dropLogin,
  initialize,
  isSessionLost,
  type LoadedModule,
  pkcs11Error,
  releaseModule,
  samePinAsLogin,
} from './module.js';
import { algorithmOfKey, findPrivateKey, type KeyObject, type KeySelector, keyName, readPublicKey } from './objects.js';
import { type Lease, SessionPool } from './pool.js';
import { THREAD_SIGNER_MODULE, type ThreadSignerData, pkcs11jsPath } from './thread-sign.js';
import { SigningThreads, type ThreadResult } from './threads.js';
import {
  closeSessionQuietly,
  login,
  logoutQuietly,
  openSession,
  selectToken,
  type TokenRef,
  tokenInfoString,
} from './token.js';

const MECHANISM: Record<Algorithm, number> = {
  ed25519: CKM_EDDSA,
  'ecdsa-p256': pk.CKM_ECDSA,
};

/** A digest waiting for a signing thread. */
interface Job {
  digest: Buffer;
  /** 1 once it was retried after a recovered session. */
  attempt: number;
  resolve: (sig: Uint8Array) => void;
  reject: (error: unknown) => void;
}

export function defaultPoolSize(): number {
  return Math.min(32, Math.max(8, availableParallelism() * 2));
}

/** The signing mechanisms a token offers, by name (for messages). */
export function signingMechanisms(p11: P11, slot: Handle): string[] {
  let list: number[];
  try {
    list = p11.C_GetMechanismList(slot);
  } catch {
    return [];
  }
  const out: string[] = [];
  for (const m of list) {
    try {
      if (p11.C_GetMechanismInfo(slot, m).flags & pk.CKF_SIGN) out.push(mechanismName(m));
    } catch {
      // a mechanism the token lists but will not describe
    }
  }
  return out;
}

function supportsSigning(p11: P11, slot: Handle, mechanism: number): boolean {
  try {
    return (
      p11.C_GetMechanismList(slot).includes(mechanism) &&
      (p11.C_GetMechanismInfo(slot, mechanism).flags & pk.CKF_SIGN) !== 0
    );
  } catch {
    return false;
  }
}

export interface Pkcs11SignerStats {
  signatures: number;
  /** Times the signer reopened sessions and logged back in after losing them. */
  recoveries: number;
  openSessions: number;
  poolSize: number;
  /** Signing threads started (0 unless the signer was opened with `threads`). */
  signingThreads: number;
}

interface Resolved {
  keySelector: KeySelector;
  pivSlot: string | undefined;
  algorithm: Algorithm | undefined;
  publicKeyOverride: PublicKey | undefined;
  poolSize: number | undefined;
  threads: boolean;
  attestation: AttestationMode;
  extraChain: Uint8Array[];
}

/** Checks and decodes everything in the configuration that can be wrong before touching the module. */
function resolveConfig(config: Pkcs11Config): Resolved {
  const parts: string[] = [];
  let keyId: Uint8Array | undefined;
  let pivSlot: string | undefined;
  if (config.keyLabel !== undefined) parts.push(`labelled "${config.keyLabel}"`);
  if (config.keyId !== undefined) {
    keyId = parseKeyId(config.keyId);
    parts.push(`with ID ${bytesToHex(keyId)}`);
  }
  if (config.pivSlot !== undefined) {
    const piv = parsePivSlot(config.pivSlot);
    if (keyId && !equalBytes(keyId, piv.id)) {
      throw new ErstError(
        'ERR_OPTIONS_INVALID',
        `\`keyId\` ${bytesToHex(keyId)} and \`pivSlot\` ${piv.slot} (ID ${bytesToHex(piv.id)}) name different keys`,
        {
          details: { options: ['keyId', 'pivSlot'] },
        },
      );
    }
    keyId = piv.id;
    pivSlot = piv.slot;
    parts.push(`in PIV slot ${piv.slot}`);
  }
  const poolSize = config.poolSize;
  if (poolSize !== undefined && (!Number.isInteger(poolSize) || poolSize < 1 || poolSize > 1024)) {
    throw new RangeError(`poolSize must be an integer from 1 to 1024, not ${poolSize}`);
  }
  const attestation = config.attestation ?? 'auto';
  if (!['auto', 'off', 'required'].includes(attestation))
    throw new RangeError(`attestation must be auto, off or required, not ${attestation}`);
  const chain = config.attestationChain;
  return {
    keySelector: {
      keyLabel: config.keyLabel,
      keyId,
      described: parts.join(' '),
    },
    pivSlot,
    algorithm: config.algorithm === undefined ? undefined : parseAlgorithm(config.algorithm, 'algorithm'),
    publicKeyOverride: config.publicKeyPem ? publicKeyFromPem(config.publicKeyPem) : undefined,
    poolSize,
    threads: config.threads === true,
    attestation,
    extraChain:
      chain === undefined
        ? []
        : typeof chain === 'string'
          ? parseCertificateBundle(chain)
          : chain.map((c) => new Uint8Array(c)),
  };
}

/**
 * Signs with a private key on a PKCS#11 token (HSM, YubiKey via ykcs11,
 * SoftHSM). The module is loaded and logged into once; signatures run
 * concurrently on a pool of sessions, with C_SignAsync or (`threads`) in
 * batches on signing threads; a session lost under the signer is reopened
 * and logged back in once, transparently; the first signature is verified
 * against the token's public key.
 */
export class Pkcs11Signer implements Signer {
  readonly algorithm: Algorithm;
  readonly #module: LoadedModule;
  readonly #token: TokenRef;
  readonly #pin: string | undefined;
  readonly #selector: KeySelector;
  readonly #keyInfo: KeyObject;
  readonly #publicKey: PublicKey;
  readonly #pool: SessionPool;
  readonly #mechanism: { mechanism: number };
  readonly #pivSlot: string | undefined;
  readonly #attestationMode: AttestationMode;
  readonly #extraChain: Uint8Array[];
  readonly #threads: SigningThreads | undefined;
  /** noble's P-256, for an ECDSA key only: DER and high-S signatures are normalized, and checked. */
  readonly #p256: typeof P256 | undefined;
  #queue: Job[] = [];
  #pumpScheduled = false;
  #pumping = false;
  #key: Handle;
  #verified = false;
  #broken: ErstError | undefined;
  #recovering: Promise<void> | undefined;
  #attestation: Promise<HardwareAttestation | undefined> | undefined;
  #closing: Promise<void> | undefined;
  #inflight = 0;
  #drained: (() => void) | undefined;
  #signatures = 0;
  #recoveries = 0;

  private constructor(init: {
    module: LoadedModule;
    token: TokenRef;
    pin: string | undefined;
    selector: KeySelector;
    key: KeyObject;
    algorithm: Algorithm;
    publicKey: PublicKey;
    session: Handle;
    poolSize: number;
    threads: boolean;
    pivSlot: string | undefined;
    attestation: AttestationMode;
    extraChain: Uint8Array[];
    p256: typeof P256 | undefined;
  }) {
    this.algorithm = init.algorithm;
    this.#p256 = init.p256;
    this.#module = init.module;
    this.#token = init.token;
    this.#pin = init.pin;
    this.#selector = init.selector;
    this.#keyInfo = init.key;
    this.#key = init.key.handle;
    this.#publicKey = init.publicKey;
    this.#mechanism = { mechanism: MECHANISM[init.algorithm] };
    this.#pivSlot = init.pivSlot;
    this.#attestationMode = init.attestation;
    this.#extraChain = init.extraChain;
    const p11 = init.module.p11;
    this.#pool = new SessionPool(
      () => p11.C_OpenSession(init.token.slot, pk.CKF_SERIAL_SESSION),
      (s) => closeSessionQuietly(p11, s),
      init.poolSize,
    );
    this.#pool.adopt(init.session);
    if (init.threads) this.#threads = new SigningThreads(init.module.path, init.poolSize);
  }

  /**
   * Opens the token and key the configuration names (default: the ERST_PKCS11_*
   * variables), in named steps: check the configuration, log in, find a key
   * erst can sign with, establish its public key, hand everything to the
   * signer, and (when asked) require its attestation.
   */
  static async open(config: Pkcs11Config = pkcs11ConfigFromEnv()): Promise<Pkcs11Signer> {
    const r = resolveConfig(config);
    const module = acquireModule(config.module);
    const p11 = module.p11;
    let login: LoginState | undefined;
    let handedOver = false;
    try {
      login = logIn(module, config);
      const { token, session } = login;
      const { key, algorithm } = signingKey(p11, session, token, r);
      const publicKey = publicKeyOf(p11, session, key, algorithm, r.publicKeyOverride);
      const p256 = algorithm === 'ecdsa-p256' ? (await import('./p256.js')).p256 : undefined;
      const signer = new Pkcs11Signer({
        module,
        token,
        pin: config.pin,
        selector: r.keySelector,
        key,
        algorithm,
        publicKey,
        session,
        poolSize: Math.max(1, Math.min(r.poolSize ?? defaultPoolSize(), sessionCap(token))),
        threads: r.threads,
        pivSlot: r.pivSlot,
        attestation: r.attestation,
        extraChain: r.extraChain,
        p256,
      });
      // The signer owns the session, the login and the module from here; its close() releases them.
      handedOver = true;
      if (r.attestation === 'required') await requireAttestation(signer, token, key);
      return signer;
    } catch (error) {
      if (!handedOver) {
        if (login) undoLogin(module, login);
        releaseModule(module);
      }
      throw error;
    }
  }

  async publicKey(): Promise<PublicKey> {
    return this.#publicKey;
  }

  /** "<label> <model> #<serial> (<manufacturer>)" of the token holding the key. */
  get tokenInfo(): string {
    return tokenInfoString(this.#token);
  }
  get tokenLabel(): string {
    return this.#token.label;
  }
  /** The key's CKA_LABEL and CKA_ID (hex). */
  get key(): { label: string; id: string } {
    return { label: this.#keyInfo.label, id: bytesToHex(this.#keyInfo.id) };
  }
  get modulePath(): string {
    return this.#module.path;
  }
  stats(): Pkcs11SignerStats {
    return {
      signatures: this.#signatures,
      recoveries: this.#recoveries,
      openSessions: this.#pool.openSessions,
      poolSize: this.#pool.size,
      signingThreads: this.#threads?.size ?? 0,
    };
  }

  async sign(digest: Uint8Array): Promise<Uint8Array> {
    const bad = digestError(digest);
    if (bad) throw bad;
    if (this.#closing) throw new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed');
    if (this.#broken) throw this.#broken;
    this.#inflight++;
    try {
      const data = Buffer.from(digest);
      const sig = this.#threads
        ? await this.#onThread(data)
        : await this.#withSession('signing', async (lease) => {
            const p11 = this.#module.p11;
            p11.C_SignInit(lease.session, this.#mechanism, this.#key);
            return p11.C_SignAsync(lease.session, data, Buffer.alloc(72));
          });
      const out = this.#normalize(sig);
      if (!this.#verified) this.#selfCheck(digest, out);
      this.#signatures++;
      return out;
    } finally {
      if (--this.#inflight === 0) this.#drained?.();
    }
  }

  /**
   * Signs a whole message (a log checkpoint's note text). Ed25519: CKM_EDDSA
   * over the message itself, on a pooled session; ECDSA P-256: `sign` of its
   * SHA-256, as the Signer contract says. Counted in `stats().signatures`.
   */
  async signMessage(message: Uint8Array): Promise<Uint8Array> {
    const bad = messageError(message);
    if (bad) throw bad;
    if (this.algorithm !== 'ed25519') return this.sign(sha256(message));
    if (this.#closing) throw new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed');
    if (this.#broken) throw this.#broken;
    this.#inflight++;
    try {
      const data = Buffer.from(message);
      const sig = await this.#withSession('signing', async (lease) => {
        const p11 = this.#module.p11;
        p11.C_SignInit(lease.session, this.#mechanism, this.#key);
        return p11.C_SignAsync(lease.session, data, Buffer.alloc(72));
      });
      const out = this.#normalize(sig);
      if (!this.#verified) this.#selfCheck(message, out);
      this.#signatures++;
      return out;
    } finally {
      if (--this.#inflight === 0) this.#drained?.();
    }
  }

  /**
   * The hardware attestation for this key (read once, then cached), or
   * undefined when the token has no certificate for it or attestation is off.
   */
  attestation(): Promise<HardwareAttestation | undefined> {
    if (this.#attestationMode === 'off') return Promise.resolve(undefined);
    if (this.#closing) return Promise.reject(new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed'));
    this.#attestation ??= this.#withSession('reading the attestation', (lease) =>
      collectAttestation(this.#module.p11, lease.session, {
        token: this.#token,
        key: this.#keyInfo,
        publicKey: this.#publicKey,
        pivSlot: this.#pivSlot,
        extraChain: this.#extraChain,
      }),
    ).catch((error: unknown) => {
      this.#attestation = undefined;
      throw error;
    });
    return this.#attestation;
  }

  /**
   * Lets `count` other threads of this process sign with this key, each
   * synchronously on a session of its own (see ThreadSigning): what batch
   * signing uses to sign on the threads that build the records, with no
   * message per signature. Ed25519 keys only (undefined for another). The
   * key is self-checked first, as by the first `sign`. Until `release`,
   * the signer counts as busy: `close` waits for it (a session must never
   * be closed under a running C_Sign). A session lost on a thread is not
   * recovered there: that thread's signing fails with ERR_PKCS11_SESSION.
   */
  async threadSigning(count: number): Promise<ThreadSigning<ThreadSignerData> | undefined> {
    if (!Number.isInteger(count) || count < 1 || count > 1024)
      throw new RangeError(`count must be an integer from 1 to 1024, not ${count}`);
    if (this.algorithm !== 'ed25519') return undefined;
    if (this.#closing) throw new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed');
    if (this.#broken) throw this.#broken;
    if (!this.#verified) {
      const digest = sha256(new TextEncoder().encode('erst: self-check before signing on threads'));
      this.#selfCheck(digest, this.#normalize(await this.#signOnSession(digest)));
      this.#signatures++;
      // The signer may have been closed while the token signed.
      if (this.#closing) throw new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed');
    }
    const p11 = this.#module.p11;
    const sessions: Handle[] = [];
    try {
      for (let i = 0; i < count; i++) sessions.push(openSession(p11, this.#token));
    } catch (error) {
      for (const s of sessions) closeSessionQuietly(p11, s);
      throw error;
    }
    this.#inflight++;
    let released = false;
    const base = {
      pkcs11js: pkcs11jsPath(),
      module: this.#module.path,
      key: new Uint8Array(this.#key),
      mechanism: this.#mechanism.mechanism,
      token: this.#token.label,
    };
    return {
      module: THREAD_SIGNER_MODULE,
      data: sessions.map((s) => ({ ...base, session: new Uint8Array(s) })),
      release: async () => {
        if (released) return;
        released = true;
        for (const s of sessions) closeSessionQuietly(p11, s);
        if (--this.#inflight === 0) this.#drained?.();
      },
    };
  }

  /** Signs on a pooled session with C_SignAsync (the one-off path), raw as the token returns it. */
  #signOnSession(data: Uint8Array): Promise<Uint8Array> {
    return this.#withSession('signing', async (lease) => {
      const p11 = this.#module.p11;
      p11.C_SignInit(lease.session, this.#mechanism, this.#key);
      return p11.C_SignAsync(lease.session, Buffer.from(data), Buffer.alloc(72));
    });
  }

  /** Logs out (when no other signer in this process uses the login), closes every session and finalizes the module. Idempotent. */
  close(): Promise<void> {
    this.#closing ??= this.#shutdown();
    return this.#closing;
  }

  async #shutdown(): Promise<void> {
    if (this.#inflight > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    await this.#recovering?.catch(() => {});
    // The threads go before C_Finalize: they hold the module open, not its state.
    await this.#threads?.close();
    if (dropLogin(this.#module, this.#token.slot)) {
      const s = this.#pool.peekIdle();
      if (s) logoutQuietly(this.#module.p11, s);
    }
    this.#pool.shutdown(new ErstError('ERR_SIGNER_CLOSED', 'the PKCS#11 signer is closed'));
    releaseModule(this.#module);
  }

  /** Runs `fn` on a leased session; a lost session or login is recovered once and `fn` retried. */
  async #withSession<T>(what: string, fn: (lease: Lease) => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      if (this.#recovering) await this.#recovering;
      let lease: Lease;
      try {
        lease = await this.#pool.acquire();
      } catch (error) {
        if (attempt === 0 && isSessionLost(error)) {
          await this.#recover(this.#pool.generation, error);
          continue;
        }
        throw this.#cannotOpen(what, error);
      }
      let result: T;
      try {
        result = await fn(lease);
      } catch (error) {
        this.#pool.release(lease, true);
        if (isSessionLost(error)) {
          if (attempt === 0) {
            await this.#recover(lease.generation, error);
            continue;
          }
          throw this.#lostAgain(what, error);
        }
        throw this.#operationError(what, error);
      }
      this.#pool.release(lease);
      return result;
    }
  }

  /** Queues a digest for the signing threads; the same recovery as #withSession, per batch. */
  #onThread(digest: Buffer): Promise<Uint8Array> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ digest, attempt: 0, resolve, reject });
      this.#schedulePump();
    });
  }

  #schedulePump(): void {
    if (this.#pumpScheduled) return;
    this.#pumpScheduled = true;
    // One turn of the event loop later, so that digests the callers hand over together go out together.
    setImmediate(() => {
      this.#pumpScheduled = false;
      void this.#pump();
    });
  }

  /** Sends the queue out in batches, one leased session each, as sessions free up. */
  async #pump(): Promise<void> {
    if (this.#pumping) return;
    this.#pumping = true;
    let recoveredForLease = false;
    try {
      while (this.#queue.length > 0) {
        if (this.#recovering) await this.#recovering.catch(() => {});
        if (this.#broken) {
          for (const job of this.#queue.splice(0)) job.reject(this.#broken);
          break;
        }
        let lease: Lease;
        try {
          lease = await this.#pool.acquire();
        } catch (error) {
          // As in #withSession: a lost login is recovered once, anything else fails what is queued.
          let failure: unknown;
          if (isSessionLost(error) && !recoveredForLease) {
            failure = await this.#recover(this.#pool.generation, error).then(
              () => undefined,
              (e: unknown) => e,
            );
          } else {
            failure = this.#cannotOpen('signing', error);
          }
          recoveredForLease = true;
          if (failure) for (const job of this.#queue.splice(0)) job.reject(failure);
          continue;
        }
        recoveredForLease = false;
        const batch = this.#queue.splice(0, this.#threads!.batchSize(this.#inflight));
        void this.#runBatch(lease, batch);
      }
    } finally {
      this.#pumping = false;
    }
  }

  async #runBatch(lease: Lease, jobs: Job[]): Promise<void> {
    let results: ThreadResult[];
    try {
      results = await this.#threads!.sign(
        lease.session,
        this.#mechanism.mechanism,
        this.#key,
        jobs.map((j) => j.digest),
      );
    } catch (error) {
      // A signing thread died (or the signer is closing): nothing more can be signed.
      this.#pool.release(lease, true);
      if (isErstError(error, 'ERR_PKCS11')) this.#broken ??= error;
      for (const job of jobs) job.reject(error);
      return;
    }
    let lost: Error | undefined;
    let failed = false;
    const retry: Job[] = [];
    for (let i = 0; i < jobs.length; i++) {
      const result = results[i]!;
      const job = jobs[i]!;
      if (result instanceof Uint8Array) {
        job.resolve(result);
        continue;
      }
      failed = true;
      if (!isSessionLost(result)) {
        job.reject(this.#operationError('signing', result));
      } else if (job.attempt === 0) {
        lost ??= result;
        job.attempt = 1;
        retry.push(job);
      } else {
        job.reject(this.#lostAgain('signing', result));
      }
    }
    // After an error the session's state is unknown: close it rather than reuse it.
    this.#pool.release(lease, failed);
    if (!lost) return;
    try {
      await this.#recover(lease.generation, lost);
    } catch (error) {
      for (const job of retry) job.reject(error);
      return;
    }
    this.#queue.unshift(...retry);
    this.#schedulePump();
  }

  #cannotOpen(what: string, error: unknown): ErstError {
    return pkcs11Error(
      'ERR_PKCS11_SESSION',
      `${what}: cannot open a session on token "${this.#token.label}" (${ckrName(error) ?? 'native error'})`,
      error,
      'C_OpenSession',
    );
  }

  #lostAgain(what: string, error: unknown): ErstError {
    return pkcs11Error(
      'ERR_PKCS11_SESSION',
      `${what}: the session to token "${this.#token.label}" was lost again (${ckrName(error)}) right after logging ` +
        `back in`,
      error,
    );
  }

  #operationError(what: string, error: unknown): unknown {
    if (isErstError(error)) return error;
    const name = ckrName(error);
    if (!name) return error;
    if (
      [
        'CKR_MECHANISM_INVALID',
        'CKR_MECHANISM_PARAM_INVALID',
        'CKR_KEY_TYPE_INCONSISTENT',
        'CKR_KEY_FUNCTION_NOT_PERMITTED',
      ].includes(name)
    ) {
      const mechs = signingMechanisms(this.#module.p11, this.#token.slot);
      return pkcs11Error(
        'ERR_PKCS11_MECHANISM',
        `${what}: token "${this.#token.label}" refused ${mechanismName(this.#mechanism.mechanism)} with key ` +
          `${keyName(this.#keyInfo)} (${name}); it offers: ${mechs.join(', ') || 'none'}`,
        error,
      );
    }
    return pkcs11Error(
      'ERR_PKCS11',
      `${what} with key ${keyName(this.#keyInfo)} on token "${this.#token.label}" failed with ${name}`,
      error,
    );
  }

  /**
   * Reopens a session, logs in again and finds the key again. Concurrent
   * callers that lost their sessions to the same event share one recovery.
   */
  #recover(failedGeneration: number, cause: unknown): Promise<void> {
    if (this.#recovering) return this.#recovering;
    if (this.#pool.generation > failedGeneration) return Promise.resolve();
    this.#recovering = this.#relogin(cause).finally(() => {
      this.#recovering = undefined;
    });
    return this.#recovering;
  }

  async #relogin(cause: unknown): Promise<void> {
    this.#pool.invalidate();
    this.#recoveries++;
    const p11 = this.#module.p11;
    let session: Handle | undefined;
    try {
      if (ckrName(cause) === 'CKR_CRYPTOKI_NOT_INITIALIZED') {
        // Someone finalized the library under us: initialize it again, and own that.
        if (initialize(p11)) this.#module.ownsInit = true;
      }
      session = openSession(p11, this.#token);
      login(p11, session, this.#token, this.#pin);
      const key = findPrivateKey(p11, session, this.#token.label, this.#selector);
      this.#key = key.handle;
      // Check the next signature against the key we started with: the handle must still name it.
      this.#verified = false;
      this.#pool.adopt(session);
    } catch (error) {
      if (session !== undefined) closeSessionQuietly(p11, session);
      const why = isErstError(error) ? `${error.code}: ${error.message}` : (ckrName(error) ?? 'native error');
      const failure = new ErstError(
        'ERR_PKCS11_SESSION',
        `lost the session to token "${this.#token.label}" (${ckrName(cause) ?? 'error'}) and could not log back in: ` +
          `${why}`,
        {
          cause: isErstError(error) ? error : pkcs11Error('ERR_PKCS11', 'relogin', error),
        },
      );
      // A PIN the token now refuses must not be tried again and again: that locks it.
      if (isErstError(error) && error.code.startsWith('ERR_PKCS11_PIN_')) this.#broken = failure;
      throw failure;
    }
  }

  #normalize(sig: Uint8Array): Uint8Array {
    if (this.algorithm === 'ed25519') {
      if (sig.length !== 64)
        throw new ErstError('ERR_PKCS11', `the token returned a ${sig.length}-byte Ed25519 signature; expected 64`);
      return new Uint8Array(sig);
    }
    const p256 = this.#p256!;
    let s: ReturnType<typeof p256.Signature.fromBytes>;
    try {
      // CKM_ECDSA returns r||s; a few modules return DER anyway.
      s = p256.Signature.fromBytes(sig, sig.length === 64 ? 'compact' : 'der');
    } catch (cause) {
      throw new ErstError(
        'ERR_PKCS11',
        `the token returned a ${sig.length}-byte ECDSA signature that is neither r||s nor DER`,
        { cause },
      );
    }
    if (s.hasHighS()) s = new p256.Signature(s.r, p256.Point.Fn.neg(s.s));
    return s.toBytes('compact');
  }

  #selfCheck(digest: Uint8Array, sig: Uint8Array): void {
    const pub = this.#publicKey.raw;
    let ok = false;
    try {
      ok =
        this.algorithm === 'ed25519'
          ? nodeVerify(null, digest, ed25519PublicKey(pub), sig)
          : this.#p256!.verify(sig, digest, pub, { prehash: false, lowS: true });
    } catch {
      ok = false;
    }
    if (ok) {
      this.#verified = true;
      return;
    }
    this.#broken = new ErstError(
      'ERR_SIGNER_SELF_CHECK',
      `the token's ${this.algorithm} signature with key ${keyName(this.#keyInfo)} does not verify under public key ` +
        `${bytesToHex(pub)}: the public key (from the token or ERST_PKCS11_PUBLIC_KEY_PEM) is not this key's, or the ` +
        `token's ${mechanismName(this.#mechanism.mechanism)} is not producing ${this.algorithm} signatures; ` +
        `nothing was signed`,
      { details: { public_key: bytesToHex(pub) } },
    );
    throw this.#broken;
  }
}

/** A raw Ed25519 public key as a node:crypto key (native verification: no curve tables to build at start-up). */
function ed25519PublicKey(raw: Uint8Array) {
  return createPublicKey({
    key: { kty: 'OKP', crv: 'Ed25519', x: Buffer.from(raw).toString('base64url') },
    format: 'jwk',
  });
}

/** Opens a PKCS#11 signer; `config` defaults to the ERST_PKCS11_* environment variables. */
export function openPkcs11Signer(config?: Pkcs11Config): Promise<Pkcs11Signer> {
  return Pkcs11Signer.open(config);
}

// ---------- the steps of Pkcs11Signer.open ----------

/** A session on the selected token, logged in with the configured PIN. */
interface LoginState {
  token: TokenRef;
  session: Handle;
}

/** Selects the token, opens a session and logs in; on failure nothing stays open. */
function logIn(module: LoadedModule, config: Pkcs11Config): LoginState {
  const p11 = module.p11;
  const token = selectToken(p11, module.path, {
    tokenLabel: config.tokenLabel,
    slot: config.slot,
  });
  const session = openSession(p11, token);
  try {
    // PKCS#11 logins belong to the application, not the session: a second PIN cannot be checked by logging in again.
    if (!samePinAsLogin(module, token.slot, config.pin)) {
      throw new ErstError(
        'ERR_PKCS11_PIN_INCORRECT',
        `wrong PIN for token "${token.label}" (it differs from the PIN this process is logged in with)`,
      );
    }
    login(p11, session, token, config.pin);
  } catch (error) {
    closeSessionQuietly(p11, session);
    throw error;
  }
  addLogin(module, token.slot, config.pin);
  return { token, session };
}

/** Gives back what logIn took: the login (when this was its last user) and the session. */
function undoLogin(module: LoadedModule, { token, session }: LoginState): void {
  if (dropLogin(module, token.slot)) logoutQuietly(module.p11, session);
  closeSessionQuietly(module.p11, session);
}

/** The private key the selector names, checked to be one erst can sign with on this token. */
function signingKey(p11: P11, session: Handle, token: TokenRef, r: Resolved): { key: KeyObject; algorithm: Algorithm } {
  const key = findPrivateKey(p11, session, token.label, r.keySelector);
  const algorithm = algorithmOfKey(key);
  if (!algorithm) {
    const mechs = signingMechanisms(p11, token.slot);
    throw new ErstError(
      'ERR_PKCS11_MECHANISM',
      `key ${keyName(key)} is an ${key.algorithm} key: erst signs with ed25519 (CKM_EDDSA) or ecdsa-p256 ` +
        `(CKM_ECDSA over the digest); token "${token.label}" offers these signing mechanisms: ` +
        `${mechs.join(', ') || 'none'}. Make a supported key with generateTokenKeyPair (erst hsm keys generate)`,
      { details: { key_algorithm: key.algorithm, mechanisms: mechs } },
    );
  }
  if (r.algorithm && r.algorithm !== algorithm) {
    throw new ErstError(
      'ERR_PKCS11_KEY_MISMATCH',
      `key ${keyName(key)} is an ${algorithm} key, but ${r.algorithm} was asked for ` +
        '(`algorithm`, or ERST_PKCS11_ALGORITHM)',
      { details: { options: ['algorithm'] } },
    );
  }
  if (key.sign === false) {
    throw new ErstError('ERR_PKCS11_MECHANISM', `key ${keyName(key)} is not allowed to sign (CKA_SIGN is false)`);
  }
  if (!supportsSigning(p11, token.slot, MECHANISM[algorithm])) {
    const mechs = signingMechanisms(p11, token.slot);
    const yubikey =
      algorithm === 'ed25519'
        ? ' (YubiKey: Ed25519 needs firmware 5.7+ and ykcs11 2.6.1+; otherwise use ecdsa-p256)'
        : '';
    throw new ErstError(
      'ERR_PKCS11_MECHANISM',
      `token "${token.label}" does not offer ${mechanismName(MECHANISM[algorithm])} signing, needed for ` +
        `${algorithm} key ${keyName(key)}; it offers: ${mechs.join(', ') || 'none'}${yubikey}`,
      { details: { mechanisms: mechs } },
    );
  }
  return { key, algorithm };
}

/**
 * The key's public half: from the token when it holds one, else the configured
 * ERST_PKCS11_PUBLIC_KEY_PEM; when both exist they must agree.
 */
function publicKeyOf(
  p11: P11,
  session: Handle,
  key: KeyObject,
  algorithm: Algorithm,
  override: PublicKey | undefined,
): PublicKey {
  const fromToken = readPublicKey(p11, session, key, algorithm);
  if (override && override.algorithm !== algorithm) {
    throw new ErstError(
      'ERR_PKCS11_KEY_MISMATCH',
      `ERST_PKCS11_PUBLIC_KEY_PEM is an ${override.algorithm} key but key ${keyName(key)} is ${algorithm}`,
    );
  }
  if (override && fromToken && !equalBytes(override.raw, fromToken.raw)) {
    throw new ErstError(
      'ERR_PKCS11_KEY_MISMATCH',
      `ERST_PKCS11_PUBLIC_KEY_PEM (${bytesToHex(override.raw)}) is not the public key of ${keyName(key)} ` +
        `on the token (${bytesToHex(fromToken.raw)})`,
      {
        details: {
          configured: bytesToHex(override.raw),
          token: bytesToHex(fromToken.raw),
        },
      },
    );
  }
  const publicKey = fromToken ?? override;
  if (!publicKey) {
    throw new ErstError(
      'ERR_PKCS11_KEY_NOT_FOUND',
      `the token holds no public key for ${keyName(key)} (no public-key object, CKA_EC_POINT or certificate ` +
        'with its ID); give it with ERST_PKCS11_PUBLIC_KEY_PEM',
    );
  }
  return publicKey;
}

/** The token's session limit: 0 means "effectively infinite" and ~0 "unknown", so neither caps the pool. */
function sessionCap(token: TokenRef): number {
  const maxSessions = Number(token.info.maxSessionCount);
  return maxSessions > 0 && maxSessions < 0xffffffff ? maxSessions : Number.POSITIVE_INFINITY;
}

/** `attestation: 'required'`: a signer whose key has no attestation certificate is closed and refused. */
async function requireAttestation(signer: Pkcs11Signer, token: TokenRef, key: KeyObject): Promise<void> {
  try {
    const a = await signer.attestation();
    if (!a) {
      throw new ErstError(
        'ERR_ATTESTATION_UNAVAILABLE',
        `token "${token.label}" holds no attestation certificate for key ${keyName(key)} (YubiKey: ` +
          '"X.509 Certificate for PIV Attestation <slot>"; other tokens: a certificate object with the key\'s ' +
          "CKA_ID), and `attestation: 'required'` was asked for",
        { details: { options: ["attestation: 'required'"] } },
      );
    }
  } catch (error) {
    await signer.close();
    throw error;
  }
}
