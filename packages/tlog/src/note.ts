import { ErstError, bytesToBase64, concatBytes, utf8Bytes } from '@erst/core';
import { type NoteSigner, type NoteVerifier, isValidKeyName, keyIdHex } from './keys.js';
import { MAX_NOTE_BYTES, MAX_NOTE_SIGNATURES } from './limits.js';
import { decodeBase64, splitLines, textOf, utf8LongerThan } from './text.js';

/** One signature line of a note. */
export interface NoteSignature {
  readonly name: string;
  readonly keyId: number;
  /** The signature bytes after the 4-byte key ID. */
  readonly signature: Uint8Array;
}

/** A note split into its text (ending in a newline) and its signature lines, none checked yet. */
export interface Note {
  readonly text: string;
  readonly signatures: readonly NoteSignature[];
}

/** A note whose text is signed by at least one known key. */
export interface OpenedNote extends Note {
  /** Signatures by a known key, each verified. */
  readonly verified: readonly NoteSignature[];
}

const SIG_PREFIX = '\u2014 ';
// Control characters other than newline; signed-note forbids them anywhere.
const CONTROL = /[\u0000-\u0009\u000b-\u001f]/;

/**
 * Parses a signed note (C2SP signed-note) without checking signatures: valid
 * UTF-8, no control characters but newline, at most MAX_NOTE_BYTES, the text
 * separated from signature lines by the last blank line, each signature line
 * `— <name> <base64(key ID || signature)>` with a valid name and canonical
 * base64 of at least 5 bytes, at most MAX_NOTE_SIGNATURES of them.
 * Throws ERR_NOTE_TOO_LARGE, ERR_TLOG_LINE_TOO_LONG, ERR_NOTE_MALFORMED or
 * ERR_TLOG_BASE64_NONCANONICAL.
 */
export function parseNote(input: string | Uint8Array): Note {
  const tooLong = typeof input === 'string' ? utf8LongerThan(input, MAX_NOTE_BYTES) : input.length > MAX_NOTE_BYTES;
  if (tooLong || (typeof input === 'string' && input.length > MAX_NOTE_BYTES)) {
    throw new ErstError('ERR_NOTE_TOO_LARGE', `a signed note is at most ${MAX_NOTE_BYTES} bytes`, {
      details: { limit: MAX_NOTE_BYTES },
    });
  }
  const note = textOf(input, 'ERR_NOTE_MALFORMED');
  const bad = (why: string) => new ErstError('ERR_NOTE_MALFORMED', `signed note: ${why}`);
  if (CONTROL.test(note)) throw bad('holds a control character other than newline');
  splitLines(note, 'signed note');
  const split = note.lastIndexOf('\n\n');
  if (split < 0) throw bad('no blank line before the signatures');
  const text = note.slice(0, split + 1);
  const block = note.slice(split + 2);
  if (block === '' || !block.endsWith('\n')) throw bad('no signature lines, or the last does not end in a newline');
  const lines = block.slice(0, -1).split('\n');
  if (lines.length > MAX_NOTE_SIGNATURES) throw bad(`more than ${MAX_NOTE_SIGNATURES} signatures`);
  const signatures = lines.map((line, i) => {
    if (!line.startsWith(SIG_PREFIX)) throw bad(`signature line ${i + 1} does not start with "— "`);
    const rest = line.slice(SIG_PREFIX.length);
    const space = rest.indexOf(' ');
    const name = space < 0 ? rest : rest.slice(0, space);
    const b64 = space < 0 ? '' : rest.slice(space + 1);
    if (!isValidKeyName(name) || b64 === '') throw bad(`signature line ${i + 1} is not "— <name> <signature>"`);
    const bytes = decodeBase64(b64, `signature ${i + 1}`);
    if (bytes.length < 5) throw bad(`signature ${i + 1} is shorter than a key ID and one byte`);
    const keyId = ((bytes[0]! << 24) | (bytes[1]! << 16) | (bytes[2]! << 8) | bytes[3]!) >>> 0;
    return { name, keyId, signature: bytes.subarray(4) };
  });
  return { text, signatures };
}

/**
 * Parses a signed note and checks it against known keys, as signed-note
 * requires: signatures by unknown keys (name or key ID differ) are ignored;
 * a signature by a known key that fails throws ERR_NOTE_SIGNATURE_INVALID;
 * a note no known key has signed throws ERR_NOTE_UNVERIFIED.
 */
export function openNote(input: string | Uint8Array, verifiers: readonly NoteVerifier[]): OpenedNote {
  const note = parseNote(input);
  const message = utf8Bytes(note.text);
  const verified: NoteSignature[] = [];
  const seen = new Set<NoteVerifier>();
  for (const sig of note.signatures) {
    const v = verifiers.find((k) => k.name === sig.name && k.keyId === sig.keyId);
    if (!v || seen.has(v)) continue;
    seen.add(v);
    if (!v.verify(message, sig.signature)) {
      throw new ErstError(
        'ERR_NOTE_SIGNATURE_INVALID',
        `the signature by ${sig.name}+${keyIdHex(sig.keyId)} is invalid`,
        {
          details: { name: sig.name, keyId: keyIdHex(sig.keyId) },
        },
      );
    }
    verified.push(sig);
  }
  if (verified.length === 0) {
    throw new ErstError('ERR_NOTE_UNVERIFIED', 'no signature by a known key', {
      details: {
        known: verifiers.map((v) => `${v.name}+${keyIdHex(v.keyId)}`),
        signedBy: note.signatures.map((s) => `${s.name}+${keyIdHex(s.keyId)}`),
      },
    });
  }
  return { ...note, verified };
}

/**
 * Signs `text` (which must end in a newline and hold no blank line at its
 * end, so it parses back as the same text) with each signer, returning the
 * signed note.
 */
export async function signNote(text: string, signers: readonly NoteSigner[]): Promise<string> {
  if (!text.endsWith('\n') || CONTROL.test(text)) {
    throw new ErstError('ERR_OPTIONS_INVALID', '`text` must end in one newline and hold no control characters', {
      details: { options: ['text'] },
    });
  }
  textOf(text, 'ERR_NOTE_MALFORMED');
  const message = utf8Bytes(text);
  const lines: string[] = [];
  for (const s of signers) {
    const sig = await s.sign(message);
    const id = new Uint8Array([s.keyId >>> 24, (s.keyId >>> 16) & 0xff, (s.keyId >>> 8) & 0xff, s.keyId & 0xff]);
    lines.push(`${SIG_PREFIX}${s.name} ${bytesToBase64(concatBytes(id, sig))}\n`);
  }
  const note = `${text}\n${lines.join('')}`;
  parseNote(note);
  return note;
}
