import { type KeyObject, createPrivateKey, createPublicKey, generateKeyPairSync, sign as nodeSign } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import {
  type Algorithm,
  ErstError,
  type PublicKey,
  type Signer,
  base64ToBytes,
  bytesToHex,
  digestError,
  messageError,
  equalBytes,
  hexToBytes,
  isErstError,
  publicKeyFromRaw,
} from '@erst/core';
import { ed25519 } from '@noble/curves/ed25519.js';

function b64url(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64url');
}

/**
 * A software Ed25519 key held in process memory (a node:crypto KeyObject, so
 * the key bytes are not on the JS heap and signing is native).
 */
export class InMemorySigner implements Signer {
  readonly algorithm: Algorithm = 'ed25519';
  readonly #key: KeyObject;
  #closed = false;
  readonly #publicKey: PublicKey;

  private constructor(key: KeyObject) {
    if (key.asymmetricKeyType !== 'ed25519') {
      throw new ErstError(
        'ERR_KEY_NOT_ED25519',
        `the private key is ${key.asymmetricKeyType ?? 'unknown'}, not Ed25519`,
      );
    }
    this.#key = key;
    const jwk = createPublicKey(key).export({ format: 'jwk' });
    this.#publicKey = publicKeyFromRaw(base64ToBytes(toB64(jwk.x!))!, 'ed25519');
  }

  /** From a PKCS#8 PEM ("PRIVATE KEY"). Encrypted keys are refused with their own code. */
  static fromPem(pem: string): InMemorySigner {
    if (/-----BEGIN ENCRYPTED PRIVATE KEY-----/.test(pem) || /Proc-Type: 4,ENCRYPTED/.test(pem)) {
      throw new ErstError(
        'ERR_KEY_ENCRYPTED',
        'the private key PEM is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)',
      );
    }
    if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(pem)) {
      throw new ErstError(
        'ERR_KEY_PEM_INVALID',
        'not a PEM private key: expected a "-----BEGIN PRIVATE KEY-----" block',
      );
    }
    let key: KeyObject;
    try {
      key = createPrivateKey({ key: pem, format: 'pem' });
    } catch (cause) {
      const code = (cause as { code?: string }).code;
      if (code === 'ERR_MISSING_PASSPHRASE') {
        throw new ErstError('ERR_KEY_ENCRYPTED', 'the private key PEM is encrypted; decrypt it first', {
          cause: redact(cause),
        });
      }
      // node's message never echoes key bytes, but keep only its code to be sure.
      throw new ErstError(
        'ERR_KEY_PEM_INVALID',
        `the private key PEM could not be parsed (${code ?? 'invalid encoding'})`,
        {
          cause: redact(cause),
        },
      );
    }
    return new InMemorySigner(key);
  }

  /**
   * From hex as erst Go takes it (ERST_SOFTWARE_PRIVATE_KEY_HEX): a 32-byte
   * seed, or Go's 64-byte ed25519.PrivateKey (seed followed by public key).
   */
  static fromHex(hex: string): InMemorySigner {
    const bytes = hexToBytes(hex.trim());
    if (!bytes || (bytes.length !== 32 && bytes.length !== 64)) {
      throw new ErstError(
        'ERR_KEY_HEX_INVALID',
        `an Ed25519 private key in hex must be 64 characters (seed) or 128 (seed and public key); got ` +
          `${bytes ? `${bytes.length} bytes` : 'something that is not hex'}`,
      );
    }
    const seed = bytes.subarray(0, 32);
    const pub = ed25519.getPublicKey(seed);
    if (bytes.length === 64 && !equalBytes(pub, bytes.subarray(32))) {
      throw new ErstError('ERR_KEY_HEX_INVALID', 'the 64-byte key hex does not hold the public key of its own seed');
    }
    return InMemorySigner.fromSeed(seed, pub);
  }

  static fromSeed(seed: Uint8Array, pub: Uint8Array = ed25519.getPublicKey(seed)): InMemorySigner {
    const key = createPrivateKey({
      key: { kty: 'OKP', crv: 'Ed25519', d: b64url(seed), x: b64url(pub) },
      format: 'jwk',
    });
    return new InMemorySigner(key);
  }

  /**
   * Reads a PKCS#8 PEM key file. `onWarning` hears about permissions wider than 0600.
   * A file that cannot be read is not named: a seed or PEM passed where its
   * path belongs would be printed back to the terminal and into logs.
   */
  static fromKeyFile(path: string, onWarning?: (message: string) => void): InMemorySigner {
    let text: string;
    try {
      const st = statSync(path);
      if (st.isDirectory()) throw new ErstError('ERR_KEY_FILE_UNREADABLE', 'the key file is a directory');
      if (process.platform !== 'win32' && (st.mode & 0o077) !== 0) {
        onWarning?.(
          `key file ${path} is readable by group or others (mode ${(st.mode & 0o777).toString(8)}); run: chmod 600 ` +
            `${path}`,
        );
      }
      text = readFileSync(path, 'utf8');
    } catch (cause) {
      if (isErstError(cause)) throw cause;
      const code = (cause as { code?: string }).code;
      throw new ErstError(
        'ERR_KEY_FILE_UNREADABLE',
        `cannot read the key file: ${code === 'ENOENT' ? 'no such file' : (code ?? 'error')}`,
        {
          cause: Object.assign(new Error(code ?? 'error'), { code }),
        },
      );
    }
    return InMemorySigner.fromPem(text);
  }

  async publicKey(): Promise<PublicKey> {
    return this.#publicKey;
  }

  /**
   * Signs on libuv's thread pool (node:crypto's callback form), so a caller
   * with many records in flight canonicalizes and hashes the next ones on the
   * main thread while signatures are made on the other cores.
   */
  sign(digest: Uint8Array): Promise<Uint8Array> {
    const bad = this.#refusal(digest);
    if (bad) return Promise.reject(bad);
    return new Promise((resolve, reject) => {
      nodeSign(null, digest, this.#key, (err, sig) => (err ? reject(err) : resolve(sig)));
    });
  }

  /** Signs a whole message (a log checkpoint's note text): RFC 8032 Ed25519 over the message itself. */
  signMessage(message: Uint8Array): Promise<Uint8Array> {
    const bad = this.#closed ? new ErstError('ERR_SIGNER_CLOSED', 'the signer is closed') : messageError(message);
    if (bad) return Promise.reject(bad);
    return new Promise((resolve, reject) => {
      nodeSign(null, message, this.#key, (err, sig) => (err ? reject(err) : resolve(sig)));
    });
  }

  /** Synchronous signing, for callers that batch without awaiting. */
  signSync(digest: Uint8Array): Uint8Array {
    const bad = this.#refusal(digest);
    if (bad) throw bad;
    return nodeSign(null, digest, this.#key);
  }

  #refusal(digest: Uint8Array): ErstError | undefined {
    return this.#closed ? new ErstError('ERR_SIGNER_CLOSED', 'the signer is closed') : digestError(digest);
  }

  /** The node:crypto key, for ThreadedSigner (a KeyObject can be cloned to a worker thread). */
  get keyObject(): KeyObject {
    return this.#key;
  }

  /** PKCS#8 PEM of the private key, for writing a new key file. */
  exportPkcs8Pem(): string {
    return this.#key.export({ format: 'pem', type: 'pkcs8' }) as string;
  }

  get publicKeyHex(): string {
    return bytesToHex(this.#publicKey.raw);
  }

  /** Forgets nothing (the key is a KeyObject), but a closed signer refuses to sign, as every Signer does. */
  async close(): Promise<void> {
    this.#closed = true;
  }
}

function toB64(b64url: string): string {
  return b64url
    .replace(/-/g, '+')
    .replace(/_/g, '/')
    .padEnd(Math.ceil(b64url.length / 4) * 4, '=');
}

/** Keep only a node error's code: its message or stack could quote input. */
function redact(cause: unknown): Error {
  const e = new Error(`node:crypto ${(cause as { code?: string }).code ?? 'error'}`);
  e.stack = undefined;
  return e;
}

export interface GeneratedKey {
  signer: InMemorySigner;
  pkcs8Pem: string;
  publicKeyHex: string;
}

export function generateKeyPair(): GeneratedKey {
  const { privateKey } = generateKeyPairSync('ed25519');
  const pkcs8Pem = privateKey.export({ format: 'pem', type: 'pkcs8' }) as string;
  const signer = InMemorySigner.fromPem(pkcs8Pem);
  return { signer, pkcs8Pem, publicKeyHex: signer.publicKeyHex };
}

/** Where a software key can come from, in the order they are tried. */
export interface SoftwareKeySource {
  /** PKCS#8 PEM text. */
  pem?: string | undefined;
  /** Path of a PKCS#8 PEM file. */
  keyFile?: string | undefined;
  /** Environment to read ERST_AUDIT_PRIVATE_KEY_PEM and ERST_SOFTWARE_PRIVATE_KEY_HEX from. */
  env?: Record<string, string | undefined>;
  onWarning?: (message: string) => void;
}

/**
 * The key a person meant: PEM text first, then a key file, then the PEM
 * variable, then erst Go's hex variable. Throws ERR_KEY_MISSING naming the
 * options (`pem`, `keyFile`) in `details.options`, for a CLI to name its flags.
 */
export function loadSoftwareSigner(source: SoftwareKeySource): InMemorySigner {
  const env = source.env ?? {};
  if (source.pem) return InMemorySigner.fromPem(source.pem);
  if (source.keyFile) return InMemorySigner.fromKeyFile(source.keyFile, source.onWarning);
  if (env.ERST_AUDIT_PRIVATE_KEY_PEM) return InMemorySigner.fromPem(env.ERST_AUDIT_PRIVATE_KEY_PEM);
  if (env.ERST_SOFTWARE_PRIVATE_KEY_HEX) return InMemorySigner.fromHex(env.ERST_SOFTWARE_PRIVATE_KEY_HEX);
  throw new ErstError(
    'ERR_KEY_MISSING',
    'no signing key: give `pem` or `keyFile`, or set ERST_AUDIT_PRIVATE_KEY_PEM or ERST_SOFTWARE_PRIVATE_KEY_HEX',
    { details: { options: ['pem', 'keyFile'] } },
  );
}
