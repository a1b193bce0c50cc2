/**
 * Test-only RFC 3161 Time-Stamp Authority: an HTTP endpoint on 127.0.0.1
 * (`application/timestamp-query` in, `application/timestamp-reply` out)
 * whose replies come from Debian's `openssl ts -reply`, so the tokens the
 * tests verify are made by an implementation that is not erst's. It can be
 * told to misbehave in each way a client must survive or refuse.
 *
 * The server is unref'd and answers with `Connection: close`: it never keeps
 * a test process alive, and it ends with it. `close()` ends it sooner.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type Server, type ServerResponse, createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type TsaCredentials, issueTsa, tsaCa } from '@erst/test-ca';
import { AsnConvert, OctetString } from '@peculiar/asn1-schema';
import { PKIFreeText, PKIStatus, PKIStatusInfo, TimeStampReq, TimeStampResp, TimeStampToken } from '@peculiar/asn1-tsp';

export const QUERY_TYPE = 'application/timestamp-query';
export const REPLY_TYPE = 'application/timestamp-reply';
/** The policy the test TSA stamps under, and its accuracy (1.5001 s). */
export const TSA_POLICY = '1.3.6.1.4.1.99999.3161.1';
export const TSA_ACCURACY_MS = 1500.1;
const MAX_QUERY_BYTES = 64 * 1024;

/** How the TSA answers a request. */
export type TsaAnswer =
  /** A token from `openssl ts -reply`. */
  | 'token'
  /** openssl's own rejection (status 2, "Message digest algorithm is not supported."): its section takes no SHA-256. */
  | 'reject'
  /** openssl's token, in a reply whose status says grantedWithMods ("policy changed by the test TSA"). */
  | 'granted-with-mods'
  | 'http-500'
  /** HTTP 404: a client error, which retrying does not mend. */
  | 'http-404'
  /** 200 application/timestamp-reply with 100 KiB of body, chunked: past any client's size cap. */
  | 'oversized'
  /** A good reply labelled text/plain. */
  | 'wrong-content-type'
  /** 200 application/timestamp-reply holding no DER. */
  | 'garbage'
  /** A token over SHA-256 of other bytes: openssl is asked with the imprint replaced, the nonce kept. */
  | 'other-hash'
  /** A token whose nonce is not the one asked with. */
  | 'other-nonce'
  /** The connection is dropped without an answer. */
  | 'reset';

export interface TsaBehaviour {
  answer?: TsaAnswer;
  /** Wait this long before answering (past a client's timeout: a TSA that hangs). */
  delayMs?: number;
  /** The first `count` requests from now are answered `with` (HTTP 500 or 503, or a dropped connection), then `answer`. */
  failFirst?: { count: number; with: 500 | 503 | 'reset' };
  /**
   * Re-sign each token's TSTInfo with these credentials (`openssl cms -sign`):
   * a TSA certificate `openssl ts -reply` refuses (no EKU, non-critical EKU),
   * or one under another root.
   */
  resignWith?: TsaCredentials;
  /** When re-signing, name the signer by its subject key identifier (`openssl cms -keyid`), not issuer and serial. */
  keyId?: boolean;
}

export interface TestTsa {
  /** http://127.0.0.1:<port>/tsa */
  readonly url: string;
  /** The root that issued the TSA certificate: the one to pin. */
  readonly rootPem: string;
  readonly credentials: TsaCredentials;
  /** Requests received so far (every POST, whatever it was answered). */
  readonly requests: number;
  /** The DER queries received, oldest first. */
  readonly queries: readonly Uint8Array[];
  /** Changes how the following requests are answered. */
  behave(behaviour: TsaBehaviour): void;
  close(): Promise<void>;
}

interface Run {
  code: number | null;
  stdout: Buffer;
  stderr: string;
}

function openssl(args: readonly string[]): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn('openssl', args, { stdio: ['ignore', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => err.push(d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
  });
}

async function opensslOk(args: readonly string[]): Promise<Buffer> {
  const r = await openssl(args);
  if (r.code !== 0) throw new Error(`openssl ${args.slice(0, 2).join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/** The TSA sections of an openssl config; `reject` differs only in taking no SHA-256 imprint. */
function opensslConfig(dir: string, essCertId: 'v1' | 'v2'): string {
  const section = (digests: string) => `dir = ${dir}
serial = $dir/serial
crypto_device = builtin
signer_cert = $dir/tsa.pem
certs = $dir/chain.pem
signer_key = $dir/tsa.key
signer_digest = sha256
default_policy = ${TSA_POLICY}
digests = ${digests}
accuracy = secs:1, millisecs:500, microsecs:100
clock_precision_digits = 0
ordering = no
tsa_name = yes
ess_cert_id_chain = no
ess_cert_id_alg = ${essCertId === 'v1' ? 'sha1' : 'sha256'}
`;
  return `[ tsa ]
default_tsa = tsa_ok

[ tsa_ok ]
${section('sha256, sha384, sha512')}
[ tsa_reject ]
${section('sha512')}`;
}

function writeCredentials(dir: string, c: TsaCredentials): void {
  writeFileSync(join(dir, 'tsa.pem'), c.certPem);
  writeFileSync(join(dir, 'tsa.key'), c.keyPem, { mode: 0o600 });
  writeFileSync(join(dir, 'chain.pem'), c.intermediatesPem.join(''));
}

function readBody(req: IncomingMessage): Promise<Uint8Array | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (d: Buffer) => {
      size += d.length;
      if (size > MAX_QUERY_BYTES) resolve(undefined);
      else chunks.push(d);
    });
    req.on('end', () => resolve(new Uint8Array(Buffer.concat(chunks))));
    req.on('error', reject);
  });
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms).unref());

/**
 * Starts a TSA on 127.0.0.1 (a random port). Without `credentials` it makes
 * its own: a fresh TSA root and intermediate from @erst/test-ca, and an
 * ECDSA P-256 TSA certificate with the critical timeStamping EKU.
 */
export async function startTestTsa(
  options: {
    credentials?: TsaCredentials;
    behaviour?: TsaBehaviour;
    /** The signing-certificate attribute: v2 (ESSCertIDv2, SHA-256; openssl's default) or v1 (ESSCertID, SHA-1). */
    essCertId?: 'v1' | 'v2';
  } = {},
): Promise<TestTsa> {
  const credentials = options.credentials ?? (await issueTsa(await tsaCa()));
  const dir = mkdtempSync(join(tmpdir(), 'erst-test-tsa-'));
  writeCredentials(dir, credentials);
  writeFileSync(join(dir, 'serial'), '01\n');
  writeFileSync(join(dir, 'openssl.cnf'), opensslConfig(dir, options.essCertId ?? 'v2'));
  const cleanup = () => rmSync(dir, { recursive: true, force: true });
  process.once('exit', cleanup);

  let behaviour: TsaBehaviour = options.behaviour ?? {};
  let failuresLeft = behaviour.failFirst?.count ?? 0;
  let requests = 0;
  const queries: Uint8Array[] = [];
  let files = 0;
  // openssl reads and rewrites the serial file: one reply at a time.
  let queue: Promise<unknown> = Promise.resolve();

  async function reply(query: Uint8Array, answer: TsaAnswer, resignWith: TsaCredentials | undefined, keyId = false) {
    const n = ++files;
    const q = join(dir, `${n}.tsq`);
    const r = join(dir, `${n}.tsr`);
    try {
      writeFileSync(q, rewriteQuery(query, answer));
      const section = answer === 'reject' ? 'tsa_reject' : 'tsa_ok';
      await opensslOk([
        'ts',
        '-reply',
        '-config',
        join(dir, 'openssl.cnf'),
        '-section',
        section,
        '-queryfile',
        q,
        '-out',
        r,
      ]);
      let der: Uint8Array = new Uint8Array(readFileSync(r));
      if (resignWith && answer !== 'reject') der = await resign(der, resignWith, join(dir, `${n}-`), keyId);
      if (answer === 'granted-with-mods')
        der = withStatus(der, PKIStatus.grantedWithMods, 'policy changed by the test TSA');
      return der;
    } finally {
      for (const f of [q, r]) rmSync(f, { force: true });
    }
  }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    res.setHeader('Connection', 'close');
    if (req.method !== 'POST') {
      res.writeHead(405).end();
      return;
    }
    requests++;
    const body = await readBody(req);
    if (body) queries.push(body);
    const b = behaviour;
    if (failuresLeft > 0) {
      failuresLeft--;
      if (b.failFirst?.with === 'reset') req.socket.destroy();
      else res.writeHead(b.failFirst?.with ?? 503, { 'Content-Type': 'text/plain' }).end('busy');
      return;
    }
    if (b.delayMs) await delay(b.delayMs);
    const answer = b.answer ?? 'token';
    if (answer === 'reset') {
      req.socket.destroy();
      return;
    }
    if (answer === 'http-500' || answer === 'http-404') {
      res.writeHead(answer === 'http-500' ? 500 : 404, { 'Content-Type': 'text/plain' }).end('no token here');
      return;
    }
    if (answer === 'oversized') {
      // Chunked, with no Content-Length: the client must count what arrives.
      res.writeHead(200, { 'Content-Type': REPLY_TYPE });
      for (let i = 0; i < 4; i++) res.write(new Uint8Array(25 * 1024));
      res.end();
      return;
    }
    if (req.headers['content-type'] !== QUERY_TYPE || !body) {
      res.writeHead(400, { 'Content-Type': 'text/plain' }).end('expected one application/timestamp-query');
      return;
    }
    if (answer === 'garbage') {
      res.writeHead(200, { 'Content-Type': REPLY_TYPE }).end('this is not DER');
      return;
    }
    const job = queue.then(() => reply(body, answer, b.resignWith, b.keyId));
    queue = job.catch(() => {});
    const der = await job;
    const type = answer === 'wrong-content-type' ? 'text/plain' : REPLY_TYPE;
    res.writeHead(200, { 'Content-Type': type, 'Content-Length': der.length }).end(der);
  }

  const server: Server = createServer((req, res) => {
    handle(req, res).catch((e: unknown) => {
      if (!res.headersSent) res.writeHead(500, { 'Content-Type': 'text/plain' });
      res.end(`test TSA failed: ${e instanceof Error ? e.message : String(e)}`);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  server.unref();
  const { port } = server.address() as AddressInfo;

  return {
    url: `http://127.0.0.1:${port}/tsa`,
    rootPem: credentials.rootPem,
    credentials,
    get requests() {
      return requests;
    },
    queries,
    behave(next: TsaBehaviour) {
      behaviour = next;
      failuresLeft = next.failFirst?.count ?? 0;
    },
    close() {
      return new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          process.removeListener('exit', cleanup);
          cleanup();
          resolve();
        });
      });
    },
  };
}

/** The query openssl is asked: as received, or with the imprint or nonce changed for the answers that want that. */
function rewriteQuery(query: Uint8Array, answer: TsaAnswer): Uint8Array {
  if (answer !== 'other-hash' && answer !== 'other-nonce') return query;
  const req = AsnConvert.parse(query, TimeStampReq);
  if (answer === 'other-hash') {
    const other = new Uint8Array(req.messageImprint.hashedMessage.buffer.byteLength).fill(0x42);
    req.messageImprint.hashedMessage = new OctetString(other);
  } else {
    req.nonce = new Uint8Array([0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef]).buffer;
  }
  return new Uint8Array(AsnConvert.serialize(req));
}

function withStatus(replyDer: Uint8Array, status: PKIStatus, text: string): Uint8Array {
  const resp = AsnConvert.parse(replyDer, TimeStampResp);
  resp.status = new PKIStatusInfo({ status, statusString: new PKIFreeText([text]) });
  return new Uint8Array(AsnConvert.serialize(resp));
}

/** The reply with its token's TSTInfo signed again, by `signer`, with `openssl cms -sign`. */
async function resign(
  replyDer: Uint8Array,
  signer: TsaCredentials,
  prefix: string,
  keyId: boolean,
): Promise<Uint8Array> {
  const resp = AsnConvert.parse(replyDer, TimeStampResp);
  if (!resp.timeStampToken) return replyDer;
  const files = {
    token: `${prefix}token.der`,
    tstInfo: `${prefix}tstinfo.der`,
    cert: `${prefix}signer.pem`,
    key: `${prefix}signer.key`,
    chain: `${prefix}chain.pem`,
    out: `${prefix}resigned.der`,
  };
  try {
    writeFileSync(files.token, new Uint8Array(AsnConvert.serialize(resp.timeStampToken)));
    // -noverify: the eContent is what is wanted here, not openssl's view of the TSA certificate.
    await opensslOk(['cms', '-verify', '-noverify', '-inform', 'DER', '-in', files.token, '-out', files.tstInfo]);
    writeFileSync(files.cert, signer.certPem);
    writeFileSync(files.key, signer.keyPem, { mode: 0o600 });
    writeFileSync(files.chain, signer.intermediatesPem.join('') || signer.certPem);
    await opensslOk([
      'cms',
      '-sign',
      '-binary',
      '-nodetach',
      '-outform',
      'DER',
      '-md',
      'sha256',
      '-econtent_type',
      '1.2.840.113549.1.9.16.1.4',
      '-signer',
      files.cert,
      '-inkey',
      files.key,
      '-certfile',
      files.chain,
      '-in',
      files.tstInfo,
      '-out',
      files.out,
      ...(keyId ? ['-keyid'] : []),
    ]);
    resp.timeStampToken = AsnConvert.parse(readFileSync(files.out), TimeStampToken);
    return new Uint8Array(AsnConvert.serialize(resp));
  } finally {
    for (const f of Object.values(files)) rmSync(f, { force: true });
  }
}

/**
 * `openssl ts -verify` of a DER TimeStampToken over `digest` (the SHA-256
 * imprint), trusting `rootPem` only; the token must carry its intermediates.
 */
export async function opensslVerifyToken(check: {
  token: Uint8Array;
  digest: Uint8Array;
  rootPem: string;
}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'erst-ts-verify-'));
  try {
    writeFileSync(join(dir, 'token.der'), check.token);
    writeFileSync(join(dir, 'root.pem'), check.rootPem);
    const digestHex = Buffer.from(check.digest).toString('hex');
    const r = await openssl([
      'ts',
      '-verify',
      '-token_in',
      '-in',
      join(dir, 'token.der'),
      '-digest',
      digestHex,
      '-CAfile',
      join(dir, 'root.pem'),
    ]);
    return { code: r.code, stdout: r.stdout.toString(), stderr: r.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** `openssl ts -reply -text` of a TimeStampResp, or of a token: what openssl reads in it. */
export async function opensslText(der: Uint8Array, kind: 'reply' | 'token'): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'erst-ts-text-'));
  try {
    writeFileSync(join(dir, 'in.der'), der);
    const args = ['ts', '-reply', '-in', join(dir, 'in.der'), '-text'];
    if (kind === 'token') args.push('-token_in', '-token_out');
    return (await opensslOk(args)).toString();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * An http://127.0.0.1 URL on which nothing listens (a port just bound and
 * closed): a TSA that is down, whose connections are refused at once.
 */
export async function closedTsaUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}/tsa`;
}
