import { type PublicKey, type Signer, base64ToBytes, publicKeyToSpki, sha256 } from '@erst/core';
import { ed25519 } from '@noble/curves/ed25519.js';
import { p256 } from '@noble/curves/nist.js';
import { rejectionCode } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import {
  MAX_LINE_BYTES,
  MAX_NOTE_BYTES,
  MAX_NOTE_SIGNATURES,
  formatVerifierKey,
  noteKeyId,
  noteSigner,
  noteSignerFromSigner,
  noteVerifier,
  openNote,
  parseNote,
  parseVerifierKey,
  signNote,
} from '../index.js';
import { ed25519Key, ed25519Signer, p256Signer } from './helpers.js';

const code = rejectionCode;

// Known answers from Go's golang.org/x/mod/sumdb/note tests and the C2SP signed-note spec.
const PETER_VKEY = 'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW';
const PETER_SEED = base64ToBytes('AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz')!.subarray(1);
const TEXT = "If you think cryptography is the answer to your problem,\nthen you don't know what your problem is.\n";
const PETER_SIG =
  '— PeterNeumann x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=\n';
const ENOCH_SIG =
  '— EnochRoot rwz+eBzmZa0SO3NbfRGzPCpDckykFXSdeX+MNtCOXm2/5n2tiOHp+vAF1aGrQ5ovTG01oOTGwnWLox33WWd1RvMc+QQ=\n';
const SPEC_VKEY = 'example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k';
const SPEC_NOTE =
  'This is an example message.\n\n— example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3mFXmRKuwHjG1Yu72IneyaQM=\n';

describe('verifier keys', () => {
  it("parses Go's and the spec's keys and formats them back", () => {
    for (const vkey of [PETER_VKEY, SPEC_VKEY]) {
      const v = parseVerifierKey(vkey);
      expect(formatVerifierKey(v.name, v.publicKey)).toBe(vkey);
    }
    expect(parseVerifierKey(PETER_VKEY).keyId).toBe(0xc74f20a3);
    const peter = { algorithm: 'ed25519', raw: ed25519.getPublicKey(PETER_SEED) } as const;
    expect(formatVerifierKey('PeterNeumann', peter)).toBe(PETER_VKEY);
  });

  it('ECDSA P-256 (type 0x02) is the DER SubjectPublicKeyInfo, with key ID SHA-256(SPKI)[:4] (no name)', () => {
    const signer = p256Signer('log.example/a');
    const key = signer.publicKey as PublicKey;
    const vkey = formatVerifierKey('log.example/a', key);
    const material = base64ToBytes(vkey.split('+').slice(2).join('+'))!;
    expect(material[0]).toBe(0x02);
    expect(Buffer.from(material.subarray(1))).toEqual(Buffer.from(publicKeyToSpki(key)));
    const digest = sha256(publicKeyToSpki(key));
    expect(noteKeyId('log.example/a', key)).toBe(Buffer.from(digest).readUInt32BE(0));
    expect(noteKeyId('another.name', key)).toBe(noteKeyId('log.example/a', key));
    expect(parseVerifierKey(vkey).keyId).toBe(signer.keyId);
  });

  it('refuses malformed keys with ERR_VERIFIER_KEY_INVALID', async () => {
    for (const bad of [
      'PeterNeumann+cc469956+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TWBADKEY==', // wrong key length
      'PeterNeumann+173116ae+ZRpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // unknown type
      'PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // key ID not the key's
      'PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW', // upper-case hex
      'Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW',
      'PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX', // non-canonical base64
      'PeterNeumann+c74f20a3',
      '',
    ]) {
      expect(await code(() => parseVerifierKey(bad)), bad).toBe('ERR_VERIFIER_KEY_INVALID');
    }
  });
});

describe('signed notes', () => {
  it("signs exactly as Go's note.Sign does, and opens Go's note", async () => {
    const peter = noteSigner('PeterNeumann', parseVerifierKey(PETER_VKEY).publicKey, async (m) =>
      ed25519.sign(m, PETER_SEED),
    );
    expect(await signNote(TEXT, [peter])).toBe(`${TEXT}\n${PETER_SIG}`);
    const opened = openNote(`${TEXT}\n${PETER_SIG}`, [parseVerifierKey(PETER_VKEY)]);
    expect(opened.text).toBe(TEXT);
    expect(opened.verified.map((s) => s.name)).toEqual(['PeterNeumann']);
    expect(openNote(SPEC_NOTE, [parseVerifierKey(SPEC_VKEY)]).text).toBe('This is an example message.\n');
  });

  it('ignores signatures by unknown keys, and a note no known key signed is ERR_NOTE_UNVERIFIED', async () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const opened = openNote(`${TEXT}\n${ENOCH_SIG}${PETER_SIG}${PETER_SIG}`, [peter]);
    expect(opened.verified).toHaveLength(1);
    expect(opened.signatures).toHaveLength(3);
    expect(await code(() => openNote(`${TEXT}\n${ENOCH_SIG}`, [peter]))).toBe('ERR_NOTE_UNVERIFIED');
    // Same name, another key: ignored like any unknown key, so the note is unverified.
    const other = noteVerifier('PeterNeumann', ed25519Key(9).publicKey);
    expect(await code(() => openNote(`${TEXT}\n${PETER_SIG}`, [other]))).toBe('ERR_NOTE_UNVERIFIED');
  });

  it('a bad signature by a known key is ERR_NOTE_SIGNATURE_INVALID', async () => {
    const changed = `${TEXT.replace('problem,', 'problem;')}\n${PETER_SIG}`;
    expect(await code(() => openNote(changed, [parseVerifierKey(PETER_VKEY)]))).toBe('ERR_NOTE_SIGNATURE_INVALID');
  });

  it("refuses what Go's note.Open calls malformed, with ERR_NOTE_MALFORMED", async () => {
    const peter = parseVerifierKey(PETER_VKEY);
    for (const bad of [
      TEXT,
      `${TEXT}\n`,
      `${TEXT}\n${PETER_SIG.slice(0, -1)}`,
      `\x01${TEXT}\n${PETER_SIG}`,
      `${TEXT}\n— Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZSNXgKvqfqdngotpRZb6KE6RyyBwJnAM=`,
      `${TEXT}\n${PETER_SIG}Unexpected line.\n`,
      `${TEXT}\n— PeterNeumann AAAA\n`, // shorter than a key ID and a byte
      `${TEXT}\r\n${PETER_SIG}`,
    ]) {
      expect(await code(() => openNote(bad, [peter])), JSON.stringify(bad)).toBe('ERR_NOTE_MALFORMED');
    }
    const invalidUtf8 = new Uint8Array([0xff, ...Buffer.from(`${TEXT}\n${PETER_SIG}`)]);
    expect(await code(() => openNote(invalidUtf8, [peter]))).toBe('ERR_NOTE_MALFORMED');
    expect(await code(() => openNote(`\uD800${TEXT}\n${PETER_SIG}`, [peter]))).toBe('ERR_NOTE_MALFORMED');
  });

  it('refuses non-canonical base64 in a signature, too many signatures, overlong lines and notes', async () => {
    const peter = parseVerifierKey(PETER_VKEY);
    const padBits = PETER_SIG.replace('nAM=', 'nAN=');
    expect(await code(() => openNote(`${TEXT}\n${padBits}`, [peter]))).toBe('ERR_TLOG_BASE64_NONCANONICAL');
    expect(await code(() => parseNote(`${TEXT}\n${ENOCH_SIG.repeat(MAX_NOTE_SIGNATURES)}`))).toBeUndefined();
    expect(await code(() => parseNote(`${TEXT}\n${ENOCH_SIG.repeat(MAX_NOTE_SIGNATURES + 1)}`))).toBe(
      'ERR_NOTE_MALFORMED',
    );
    expect(await code(() => parseNote(`${'a'.repeat(MAX_LINE_BYTES + 1)}\n\n${PETER_SIG}`))).toBe(
      'ERR_TLOG_LINE_TOO_LONG',
    );
    expect(await code(() => parseNote(`${'a\n'.repeat(MAX_NOTE_BYTES / 2)}\n${PETER_SIG}`))).toBe('ERR_NOTE_TOO_LARGE');
  });

  it('ECDSA notes sign SHA-256 of the text as DER and verify, also with high S (as Go accepts)', async () => {
    const signer = p256Signer('log.example/a');
    const note = await signNote('hello\n', [signer]);
    const v = noteVerifier('log.example/a', signer.publicKey as PublicKey);
    expect(openNote(note, [v]).verified).toHaveLength(1);
    const sig = parseNote(note).signatures[0]!.signature;
    const high = p256.Signature.fromBytes(sig, 'der');
    const flipped = new p256.Signature(high.r, p256.Point.CURVE().n - high.s).toBytes('der');
    expect(v.verify(Buffer.from('hello\n'), flipped)).toBe(true);
    expect(v.verify(Buffer.from('hello!\n'), sig)).toBe(false);
  });

  it('signs through a core Signer: ECDSA over the digest; Ed25519 only with signMessage', async () => {
    const secret = new Uint8Array(32).fill(5);
    const ecdsa: Signer = {
      algorithm: 'ecdsa-p256',
      publicKey: async () => ({ algorithm: 'ecdsa-p256', raw: p256.getPublicKey(secret, false) }),
      sign: async (digest) => p256.sign(digest, secret, { prehash: false }),
    };
    const ns = await noteSignerFromSigner('log.example/a', ecdsa);
    const note = await signNote('x\n', [ns]);
    expect(openNote(note, [noteVerifier('log.example/a', await ecdsa.publicKey())]).verified).toHaveLength(1);

    const { seed, publicKey } = ed25519Key(3);
    const digestOnly: Signer = {
      algorithm: 'ed25519',
      publicKey: async () => publicKey,
      sign: async (digest) => ed25519.sign(digest, seed),
    };
    expect(await code(() => noteSignerFromSigner('log.example/a', digestOnly))).toBe('ERR_NOTE_SIGNER_UNSUPPORTED');
    const withMessages = { ...digestOnly, signMessage: async (m: Uint8Array) => ed25519.sign(m, seed) };
    const ed = await noteSignerFromSigner('log.example/a', withMessages);
    expect(ed.keyId).toBe(ed25519Signer('log.example/a', 3).keyId);
    expect(openNote(await signNote('x\n', [ed]), [noteVerifier('log.example/a', publicKey)]).verified).toHaveLength(1);
  });

  it('refuses to sign text that would not parse back', async () => {
    const s = ed25519Signer('a');
    expect(await code(() => signNote('no newline', [s]))).toBe('ERR_OPTIONS_INVALID');
    expect(await code(() => signNote('tab\there\n', [s]))).toBe('ERR_OPTIONS_INVALID');
    expect(await code(() => noteSigner('bad name', ed25519Key(1).publicKey, async () => new Uint8Array()))).toBe(
      'ERR_OPTIONS_INVALID',
    );
  });
});
