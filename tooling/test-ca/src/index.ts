/**
 * Test-only certificate authority: YubiKey-like PIV attestation chains
 * (root -> f9-style attestation intermediate -> slot attestation leaf with
 * Yubico's extensions, leaf key = the token's key), and broken variants, each
 * paired with the error code a verifier must answer.
 */
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import {
  type AttestationCertificate,
  type ErrorCode,
  type HardwareAttestation,
  type KeyAttributes,
  type PublicKey,
  bytesToBase64,
  bytesToHex,
  publicKeyToSpki,
} from '@erst/core';

x509.cryptoProvider.set(globalThis.crypto);

const DAY = 86_400_000;
const YEAR = 365 * DAY;

export const ROOT_NAME = 'CN=Erst Test PIV Root CA, O=Erst Test';
export const INTERMEDIATE_NAME = 'CN=Erst Test PIV Attestation, O=Erst Test';
export const LEAF_NAME = 'CN=YubiKey PIV Attestation 9c';

export const YUBICO_OIDS = {
  firmware: '1.3.6.1.4.1.41482.3.3',
  serial: '1.3.6.1.4.1.41482.3.7',
  policy: '1.3.6.1.4.1.41482.3.8',
  formFactor: '1.3.6.1.4.1.41482.3.9',
} as const;

export interface YubiKeyInfo {
  /** [major, minor, patch]; default 5.7.1. */
  firmware?: [number, number, number];
  /** Device serial; default 12345678. */
  serial?: number;
  /** Yubico codes: PIN 1 never, 2 once, 3 always; touch 1 never, 2 always, 3 cached. Default [2, 1]. */
  pinPolicy?: number;
  touchPolicy?: number;
  /** 1 USB-A keychain, 2 USB-A nano, 3 USB-C keychain, 4 USB-C nano, 5 USB-C/Lightning; default 3. */
  formFactor?: number;
}

type Keys = CryptoKeyPair;
type Cert = x509.X509Certificate;

const EC: EcKeyGenParams = { name: 'ECDSA', namedCurve: 'P-256' };
const EC_SIGN = { name: 'ECDSA', hash: 'SHA-256' };
const RSA: RsaHashedKeyGenParams = {
  name: 'RSASSA-PKCS1-v1_5',
  modulusLength: 2048,
  publicExponent: new Uint8Array([1, 0, 1]),
  hash: 'SHA-256',
};
const RSA_SIGN = { name: 'RSASSA-PKCS1-v1_5' };

function newKeys(rsa = false): Promise<Keys> {
  return crypto.subtle.generateKey(rsa ? RSA : EC, false, ['sign', 'verify']) as Promise<Keys>;
}

function signAlg(keys: Keys): Algorithm | EcdsaParams {
  return keys.privateKey.algorithm.name === 'ECDSA' ? EC_SIGN : RSA_SIGN;
}

function randomSerial(): string {
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[0] = (b[0]! & 0x7f) | 0x01; // positive, no leading zero byte
  return bytesToHex(b);
}

/** DER INTEGER for a non-negative number (what the YubiKey serial extension holds). */
function derInteger(n: number): Uint8Array {
  const bytes: number[] = [];
  let v = BigInt(n);
  do {
    bytes.unshift(Number(v & 0xffn));
    v >>= 8n;
  } while (v > 0n);
  if (bytes[0]! & 0x80) bytes.unshift(0);
  return new Uint8Array([0x02, bytes.length, ...bytes]);
}

export function yubikeyExtensions(info: YubiKeyInfo = {}): x509.Extension[] {
  const fw = info.firmware ?? [5, 7, 1];
  return [
    new x509.Extension(YUBICO_OIDS.firmware, false, new Uint8Array(fw) as BufferSource),
    new x509.Extension(YUBICO_OIDS.serial, false, derInteger(info.serial ?? 12345678) as BufferSource),
    new x509.Extension(YUBICO_OIDS.policy, false, new Uint8Array([info.pinPolicy ?? 2, info.touchPolicy ?? 1])),
    new x509.Extension(YUBICO_OIDS.formFactor, false, new Uint8Array([info.formFactor ?? 3])),
  ];
}

interface IssueOptions {
  subject: string;
  issuer: string;
  /** Subject public key. */
  publicKey: CryptoKey | x509.PublicKey;
  signer: Keys;
  notBefore: Date;
  notAfter: Date;
  /** undefined: no basicConstraints extension. */
  ca?: { ca: boolean; pathLength?: number };
  keyUsage?: x509.KeyUsageFlags;
  extensions?: x509.Extension[];
  /** Hex; default a fresh random one. */
  serialNumber?: string;
}

async function issue(o: IssueOptions): Promise<Cert> {
  const extensions: x509.Extension[] = [];
  if (o.ca) extensions.push(new x509.BasicConstraintsExtension(o.ca.ca, o.ca.pathLength, true));
  if (o.keyUsage !== undefined) extensions.push(new x509.KeyUsagesExtension(o.keyUsage, true));
  extensions.push(...(o.extensions ?? []));
  return x509.X509CertificateGenerator.create({
    serialNumber: o.serialNumber ?? randomSerial(),
    subject: o.subject,
    issuer: o.issuer,
    notBefore: o.notBefore,
    notAfter: o.notAfter,
    publicKey: o.publicKey,
    signingKey: o.signer.privateKey,
    signingAlgorithm: signAlg(o.signer),
    extensions,
  });
}

/** The token key (core's raw PublicKey) as @peculiar/x509 wants it. */
export function x509PublicKey(key: PublicKey): x509.PublicKey {
  return new x509.PublicKey(publicKeyToSpki(key) as BufferSource);
}

export interface TestCaOptions {
  /** Reference time; certificates are valid from a day before it for years. Default: now. */
  now?: Date;
  /** Make the attestation intermediate RSA 2048 (YubiKey 4 CAs are RSA). */
  rsaIntermediate?: boolean;
  /** Make the root RSA 2048. */
  rsaRoot?: boolean;
  rootName?: string;
  /** The intermediate's subject; default INTERMEDIATE_NAME. */
  intermediateName?: string;
  /** The root's own properties, to make a defective root: validity, basicConstraints and keyUsage (null: extension absent). */
  root?: {
    notBefore?: Date;
    notAfter?: Date;
    ca?: { ca: boolean; pathLength?: number } | null;
    keyUsage?: x509.KeyUsageFlags | null;
  };
}

/** A root and an f9-style attestation intermediate that issue slot attestation leaves. */
export class TestCa {
  readonly root: Cert;
  readonly intermediate: Cert;
  readonly now: Date;
  readonly #rootKeys: Keys;
  readonly #interKeys: Keys;

  private constructor(root: Cert, rootKeys: Keys, intermediate: Cert, interKeys: Keys, now: Date) {
    this.root = root;
    this.intermediate = intermediate;
    this.now = now;
    this.#rootKeys = rootKeys;
    this.#interKeys = interKeys;
  }

  static async create(options: TestCaOptions = {}): Promise<TestCa> {
    const now = options.now ?? new Date();
    const rootKeys = await newKeys(options.rsaRoot);
    const rootName = options.rootName ?? ROOT_NAME;
    const root = await issue({
      subject: rootName,
      issuer: rootName,
      publicKey: rootKeys.publicKey,
      signer: rootKeys,
      notBefore: options.root?.notBefore ?? new Date(now.getTime() - 30 * DAY),
      notAfter: options.root?.notAfter ?? new Date(now.getTime() + 30 * YEAR),
      ca: options.root?.ca === null ? undefined : (options.root?.ca ?? { ca: true, pathLength: 1 }),
      keyUsage:
        options.root?.keyUsage === null
          ? undefined
          : (options.root?.keyUsage ?? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign),
    });
    const interKeys = await newKeys(options.rsaIntermediate);
    const intermediate = await issue({
      subject: options.intermediateName ?? INTERMEDIATE_NAME,
      issuer: rootName,
      publicKey: interKeys.publicKey,
      signer: rootKeys,
      notBefore: new Date(now.getTime() - 30 * DAY),
      notAfter: new Date(now.getTime() + 20 * YEAR),
      ca: { ca: true, pathLength: 0 },
      keyUsage: x509.KeyUsageFlags.keyCertSign,
      extensions: [new x509.Extension(YUBICO_OIDS.firmware, false, new Uint8Array([5, 7, 1]))],
    });
    return new TestCa(root, rootKeys, intermediate, interKeys, now);
  }

  get rootPem(): string {
    return pem(this.root);
  }

  /** A slot attestation leaf for `key` (the token's signing key), valid a year around `now` unless told otherwise. */
  leaf(
    key: PublicKey | CryptoKey,
    options: { notBefore?: Date; notAfter?: Date; yubikey?: YubiKeyInfo; ca?: boolean } = {},
  ): Promise<Cert> {
    return issue({
      subject: LEAF_NAME,
      issuer: this.intermediate.subject,
      publicKey: 'raw' in key ? x509PublicKey(key) : key,
      signer: this.#interKeys,
      notBefore: options.notBefore ?? new Date(this.now.getTime() - DAY),
      notAfter: options.notAfter ?? new Date(this.now.getTime() + YEAR),
      ca: options.ca ? { ca: true } : { ca: false },
      keyUsage: options.ca ? x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.digitalSignature : undefined,
      extensions: yubikeyExtensions(options.yubikey),
    });
  }

  /** The chain a token holds, leaf first: [leaf, intermediate, root], as PEM. */
  async chain(key: PublicKey, yubikey?: YubiKeyInfo): Promise<string[]> {
    return [pem(await this.leaf(key, { yubikey })), pem(this.intermediate), pem(this.root)];
  }

  /** Signs any certificate with the intermediate's or root's key (for broken variants). */
  issueWith(which: 'root' | 'intermediate', o: Omit<IssueOptions, 'signer' | 'issuer'>): Promise<Cert> {
    const signer = which === 'root' ? this.#rootKeys : this.#interKeys;
    return issue({ ...o, signer, issuer: which === 'root' ? this.root.subject : this.intermediate.subject });
  }
}

export function pem(cert: Cert): string {
  return cert.toString('pem').replace(/\r\n/g, '\n').trimEnd() + '\n';
}

/** The `hardware_attestation` object for a chain, as a record carries it (certificates in the order given). */
export function attestationFor(
  chain: readonly string[],
  options: {
    tokenInfo?: string;
    retrievedAt?: Date;
    keyNonExportable?: boolean;
    keyAttributes?: KeyAttributes | null;
  } = {},
): HardwareAttestation {
  const certificates: AttestationCertificate[] = chain.map((p) => {
    try {
      const c = new x509.X509Certificate(p);
      return { pem: p, subject: c.subject, issuer: c.issuer, serial: c.serialNumber.toLowerCase() };
    } catch {
      return { pem: p, subject: 'CN=unparseable', issuer: 'CN=unparseable', serial: '00' };
    }
  });
  const out: HardwareAttestation = {
    certificates,
    token_info: options.tokenInfo ?? 'YubiKey PIV #12345678 (Yubico (www.yubico.com))',
    key_non_exportable: options.keyNonExportable ?? true,
    retrieved_at: (options.retrievedAt ?? new Date()).toISOString(),
  };
  if (options.keyAttributes !== null) {
    out.key_attributes = options.keyAttributes ?? {
      local: true,
      sensitive: true,
      always_sensitive: true,
      extractable: false,
      never_extractable: true,
    };
  }
  return out;
}

export const BROKEN_VARIANTS = [
  'expired-leaf',
  'not-yet-valid-leaf',
  'wrong-root',
  'intermediate-not-ca',
  'intermediate-key-usage',
  'leaf-is-ca',
  'signed-by-leaf',
  'path-length',
  'bad-signature',
  'key-mismatch',
  'reversed',
  'duplicate',
  'garbage-pem',
] as const;
export type BrokenVariant = (typeof BROKEN_VARIANTS)[number];

export interface Variant {
  /** Leaf first as a record would carry it (broken as named). */
  chain: string[];
  /** The root to pin: the good CA's root. */
  rootPem: string;
  /** Every error code a verifier must report, and no other. */
  expect: ErrorCode[];
}

/**
 * A chain broken one way, for `key` (the record's signing key). The good root
 * (`ca.rootPem`) is the one to pin. Makes extra keys with WebCrypto as needed.
 */
export async function brokenChain(ca: TestCa, variant: BrokenVariant, key: PublicKey): Promise<Variant> {
  const now = ca.now.getTime();
  const good = await ca.chain(key);
  const [leafPem, interPem, rootPem] = good as [string, string, string];
  const rootOnly = { rootPem: ca.rootPem };
  const tokenKey = x509PublicKey(key);
  const interValid = { notBefore: new Date(now - DAY), notAfter: new Date(now + YEAR) };
  switch (variant) {
    case 'expired-leaf': {
      const leaf = await ca.leaf(key, { notBefore: new Date(now - 2 * YEAR), notAfter: new Date(now - YEAR) });
      return { ...rootOnly, chain: [pem(leaf), interPem, rootPem], expect: ['ERR_ATTESTATION_EXPIRED'] };
    }
    case 'not-yet-valid-leaf': {
      const leaf = await ca.leaf(key, { notBefore: new Date(now + YEAR), notAfter: new Date(now + 2 * YEAR) });
      return { ...rootOnly, chain: [pem(leaf), interPem, rootPem], expect: ['ERR_ATTESTATION_NOT_YET_VALID'] };
    }
    case 'wrong-root': {
      // Same names as the good CA, different keys: names prove nothing.
      const other = await TestCa.create({ now: ca.now });
      return { ...rootOnly, chain: await other.chain(key), expect: ['ERR_ATTESTATION_UNTRUSTED_ROOT'] };
    }
    case 'intermediate-not-ca': {
      const k = await newKeys();
      const inter = await ca.issueWith('root', {
        subject: 'CN=Erst Test Not A CA',
        publicKey: k.publicKey,
        ...interValid,
      });
      const leaf = await issue({
        subject: LEAF_NAME,
        issuer: inter.subject,
        publicKey: tokenKey,
        signer: k,
        ...interValid,
        ca: { ca: false },
        extensions: yubikeyExtensions(),
      });
      return { ...rootOnly, chain: [pem(leaf), pem(inter), rootPem], expect: ['ERR_ATTESTATION_NOT_CA'] };
    }
    case 'intermediate-key-usage': {
      const k = await newKeys();
      const inter = await ca.issueWith('root', {
        subject: 'CN=Erst Test Signing Only',
        publicKey: k.publicKey,
        ...interValid,
        ca: { ca: true, pathLength: 0 },
        keyUsage: x509.KeyUsageFlags.digitalSignature,
      });
      const leaf = await issue({
        subject: LEAF_NAME,
        issuer: inter.subject,
        publicKey: tokenKey,
        signer: k,
        ...interValid,
        ca: { ca: false },
        extensions: yubikeyExtensions(),
      });
      return { ...rootOnly, chain: [pem(leaf), pem(inter), rootPem], expect: ['ERR_ATTESTATION_KEY_USAGE'] };
    }
    case 'leaf-is-ca': {
      // The certificate for the signing key is itself a CA (cA true, keyCertSign): it could issue certificates.
      const leaf = await ca.leaf(key, { ca: true });
      return { ...rootOnly, chain: [pem(leaf), interPem, rootPem], expect: ['ERR_ATTESTATION_LEAF_IS_CA'] };
    }
    case 'signed-by-leaf': {
      // A real (non-CA) attestation leaf "issues" a certificate for the signing key.
      const leafKeys = await newKeys();
      const leaf = await ca.leaf(leafKeys.publicKey);
      const child = await issue({
        subject: 'CN=Issued by a leaf',
        issuer: leaf.subject,
        publicKey: tokenKey,
        signer: leafKeys,
        ...interValid,
        ca: { ca: false },
      });
      return {
        ...rootOnly,
        chain: [pem(child), pem(leaf), interPem, rootPem],
        // The leaf is no CA; and the intermediate allows no intermediate below it.
        expect: ['ERR_ATTESTATION_NOT_CA', 'ERR_ATTESTATION_PATH_LENGTH'],
      };
    }
    case 'path-length': {
      // A proper sub-CA under the f9-style intermediate, whose pathLenConstraint is 0.
      const subKeys = await newKeys();
      const sub = await ca.issueWith('intermediate', {
        subject: 'CN=Erst Test Sub CA',
        publicKey: subKeys.publicKey,
        ...interValid,
        ca: { ca: true },
        keyUsage: x509.KeyUsageFlags.keyCertSign,
      });
      const leaf = await issue({
        subject: LEAF_NAME,
        issuer: sub.subject,
        publicKey: tokenKey,
        signer: subKeys,
        ...interValid,
        ca: { ca: false },
        extensions: yubikeyExtensions(),
      });
      return { ...rootOnly, chain: [pem(leaf), pem(sub), interPem, rootPem], expect: ['ERR_ATTESTATION_PATH_LENGTH'] };
    }
    case 'bad-signature': {
      // The leaf names the real intermediate as issuer but was signed by another key.
      const forger = await newKeys();
      const leaf = await issue({
        subject: LEAF_NAME,
        issuer: ca.intermediate.subject,
        publicKey: tokenKey,
        signer: forger,
        ...interValid,
        ca: { ca: false },
        extensions: yubikeyExtensions(),
      });
      return { ...rootOnly, chain: [pem(leaf), interPem, rootPem], expect: ['ERR_ATTESTATION_CHAIN_SIGNATURE'] };
    }
    case 'key-mismatch': {
      const other = await newKeys();
      const leaf = await ca.leaf(other.publicKey);
      return { ...rootOnly, chain: [pem(leaf), interPem, rootPem], expect: ['ERR_ATTESTATION_KEY_MISMATCH'] };
    }
    case 'reversed':
      return { ...rootOnly, chain: [rootPem, interPem, leafPem], expect: ['ERR_ATTESTATION_CHAIN_ORDER'] };
    case 'duplicate':
      return { ...rootOnly, chain: [leafPem, interPem, interPem, rootPem], expect: ['ERR_ATTESTATION_DUPLICATE_CERT'] };
    case 'garbage-pem':
      return {
        ...rootOnly,
        chain: [leafPem.replace(/^(-----BEGIN CERTIFICATE-----\n)..../, '$1AAAA'), interPem, rootPem],
        expect: ['ERR_ATTESTATION_MALFORMED'],
      };
  }
}

export const ROOT_DEFECTS = ['expired', 'not-ca', 'path-length-0', 'no-key-cert-sign'] as const;
export type RootDefect = (typeof ROOT_DEFECTS)[number];

const ROOT_DEFECT_CODE: Record<RootDefect, ErrorCode> = {
  expired: 'ERR_ATTESTATION_EXPIRED',
  'not-ca': 'ERR_ATTESTATION_NOT_CA',
  'path-length-0': 'ERR_ATTESTATION_PATH_LENGTH',
  'no-key-cert-sign': 'ERR_ATTESTATION_KEY_USAGE',
};

/** A CA whose root has `defect`; every other certificate is sound. */
export function defectiveCa(defect: RootDefect, now: Date): Promise<TestCa> {
  const root: NonNullable<TestCaOptions['root']> = {
    expired: { notBefore: new Date(now.getTime() - 2 * YEAR), notAfter: new Date(now.getTime() - DAY) },
    'not-ca': { ca: { ca: false } },
    'path-length-0': { ca: { ca: true, pathLength: 0 } },
    'no-key-cert-sign': { keyUsage: x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.cRLSign },
  }[defect];
  return TestCa.create({ now, root });
}

/**
 * A look-alike of `ca`'s root: its name and public key (so the intermediate's
 * signature verifies under it), any issuer, signed by a stranger, and sound
 * dates and constraints of its own.
 */
export async function forgedRoot(ca: TestCa, issuer = 'CN=Anyone At All'): Promise<Cert> {
  const now = ca.now.getTime();
  return issue({
    subject: ca.root.subject,
    issuer,
    publicKey: ca.root.publicKey,
    signer: await newKeys(),
    notBefore: new Date(now - 10 * YEAR),
    notAfter: new Date(now + 50 * YEAR),
    ca: { ca: true },
    keyUsage: x509.KeyUsageFlags.keyCertSign,
  });
}

/**
 * A chain under a root with `defect`, ending in a forged look-alike of that
 * root (see forgedRoot). Pinning the defective root must not attest it: the
 * pinned root's own properties count, and the look-alike is no part of a chain.
 */
export async function forgedAnchorChain(defect: RootDefect, key: PublicKey, now: Date): Promise<Variant> {
  const ca = await defectiveCa(defect, now);
  const [leafPem, interPem] = (await ca.chain(key)) as [string, string, string];
  return {
    rootPem: ca.rootPem,
    chain: [leafPem, interPem, pem(await forgedRoot(ca))],
    expect: ['ERR_ATTESTATION_CHAIN_SIGNATURE', ROOT_DEFECT_CODE[defect]],
  };
}

/**
 * `n` self-signed CA certificates that all share one subject and issuer name,
 * each with its own key: every one names every other as a possible issuer,
 * the worst case for a chain search.
 */
export async function lookAlikeCertificates(n: number, now: Date, name = 'CN=Look Alike CA'): Promise<string[]> {
  return Promise.all(
    Array.from({ length: n }, async () => {
      const own = await newKeys();
      const cert = await issue({
        subject: name,
        issuer: name,
        publicKey: own.publicKey,
        signer: own,
        notBefore: new Date(now.getTime() - DAY),
        notAfter: new Date(now.getTime() + YEAR),
        ca: { ca: true },
        keyUsage: x509.KeyUsageFlags.keyCertSign,
      });
      return pem(cert);
    }),
  );
}

// ---------- RFC 3161 Time-Stamp Authorities ----------

export const TSA_ROOT_NAME = 'CN=Erst Test TSA Root CA, O=Erst Test';
export const TSA_INTERMEDIATE_NAME = 'CN=Erst Test TSA Issuing CA, O=Erst Test';
export const TSA_NAME = 'CN=Erst Test TSA, O=Erst Test';
/** id-kp-timeStamping (RFC 3161 2.3). */
export const OID_TIME_STAMPING = '1.3.6.1.5.5.7.3.8';
const OID_SERVER_AUTH = '1.3.6.1.5.5.7.3.1';

/**
 * How a TSA certificate carries extendedKeyUsage. RFC 3161 2.3 wants exactly
 * timeStamping, critical; every other variant is one a verifier must refuse
 * (and `openssl ts -reply` refuses to sign with).
 */
export const TSA_EKU_VARIANTS = ['critical', 'non-critical', 'absent', 'with-server-auth'] as const;
export type TsaEku = (typeof TSA_EKU_VARIANTS)[number];

export interface TsaCredentials {
  /** The TSA certificate, PEM. */
  certPem: string;
  /** Its private key as PKCS#8 PEM: what `openssl ts -reply` and `openssl cms -sign` read. */
  keyPem: string;
  /** The certificates between it and the root, its issuer first: what a token carries beside it. */
  intermediatesPem: string[];
  /** The root to pin. */
  rootPem: string;
}

/** A root and an issuing intermediate for TSA certificates, under names of their own. */
export function tsaCa(now?: Date): Promise<TestCa> {
  return TestCa.create({ now: now ?? new Date(), rootName: TSA_ROOT_NAME, intermediateName: TSA_INTERMEDIATE_NAME });
}

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = bytesToBase64(new Uint8Array(der))
    .replace(/(.{64})/g, '$1\n')
    .replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

async function tsaKeys(rsa = false): Promise<Keys> {
  return (await crypto.subtle.generateKey(rsa ? RSA : EC, true, ['sign', 'verify'])) as Keys;
}

function tsaExtensions(eku: TsaEku): x509.Extension[] {
  if (eku === 'absent') return [];
  const usages = eku === 'with-server-auth' ? [OID_TIME_STAMPING, OID_SERVER_AUTH] : [OID_TIME_STAMPING];
  return [new x509.ExtendedKeyUsageExtension(usages, eku !== 'non-critical')];
}

/**
 * A TSA certificate issued by `ca`'s intermediate, with an exportable key (a
 * TSA outside this process signs with it), valid a year around `ca.now`
 * unless told otherwise. ECDSA P-256 unless `rsa`.
 */
export async function issueTsa(
  ca: TestCa,
  options: { eku?: TsaEku; rsa?: boolean; subject?: string; notBefore?: Date; notAfter?: Date } = {},
): Promise<TsaCredentials> {
  const keys = await tsaKeys(options.rsa);
  const now = ca.now.getTime();
  const cert = await ca.issueWith('intermediate', {
    subject: options.subject ?? TSA_NAME,
    publicKey: keys.publicKey,
    notBefore: options.notBefore ?? new Date(now - DAY),
    notAfter: options.notAfter ?? new Date(now + YEAR),
    ca: { ca: false },
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    // A subject key identifier too, so that a SignerInfo may name the certificate by it.
    extensions: [
      ...tsaExtensions(options.eku ?? 'critical'),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return {
    certPem: pem(cert),
    keyPem: pkcs8Pem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
    intermediatesPem: [pem(ca.intermediate)],
    rootPem: ca.rootPem,
  };
}

/**
 * A sound-looking TSA certificate (critical timeStamping EKU) issued by a
 * certificate its chain must not allow to issue it: `leaf`, another TSA
 * certificate, which is no CA; `sub-ca`, a proper CA below the issuing
 * intermediate, whose path length (0) allows none.
 */
export async function tsaUnder(ca: TestCa, issuer: 'leaf' | 'sub-ca'): Promise<TsaCredentials> {
  const issuerKeys = await tsaKeys();
  const now = ca.now.getTime();
  const valid = { notBefore: new Date(now - DAY), notAfter: new Date(now + YEAR) };
  const middle = await ca.issueWith('intermediate', {
    publicKey: issuerKeys.publicKey,
    ...valid,
    ...(issuer === 'leaf'
      ? {
          subject: 'CN=Erst Test TSA Acting As CA, O=Erst Test',
          ca: { ca: false },
          keyUsage: x509.KeyUsageFlags.digitalSignature,
          extensions: tsaExtensions('critical'),
        }
      : {
          subject: 'CN=Erst Test TSA Sub CA, O=Erst Test',
          ca: { ca: true },
          keyUsage: x509.KeyUsageFlags.keyCertSign,
        }),
  });
  const keys = await tsaKeys();
  const cert = await issue({
    subject: TSA_NAME,
    issuer: middle.subject,
    publicKey: keys.publicKey,
    signer: issuerKeys,
    ...valid,
    ca: { ca: false },
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extensions: tsaExtensions('critical'),
  });
  return {
    certPem: pem(cert),
    keyPem: pkcs8Pem(await crypto.subtle.exportKey('pkcs8', keys.privateKey)),
    intermediatesPem: [pem(middle), pem(ca.intermediate)],
    rootPem: ca.rootPem,
  };
}

/**
 * Another certificate for the same TSA key, with the same subject, issuer and
 * serial (so a SignerInfo's issuer-and-serial names it too) but other
 * validity dates: the substitution the signing-certificate attribute exists
 * to catch.
 */
export async function tsaLookAlike(ca: TestCa, tsa: TsaCredentials): Promise<string> {
  const real = new x509.X509Certificate(tsa.certPem);
  const now = ca.now.getTime();
  const cert = await ca.issueWith('intermediate', {
    subject: real.subject,
    publicKey: real.publicKey,
    serialNumber: real.serialNumber,
    notBefore: new Date(now - 2 * DAY),
    notAfter: new Date(now + 2 * YEAR),
    ca: { ca: false },
    keyUsage: x509.KeyUsageFlags.digitalSignature,
    extensions: tsaExtensions('critical'),
  });
  return pem(cert);
}
