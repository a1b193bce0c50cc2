import { readFileSync, statSync } from 'node:fs';
import { type ErrorCode, ErstError } from '@erst/core';

/** A secret file larger than this is not a PIN or passphrase: refused before it is read. */
const MAX_SECRET_FILE_BYTES = 64 * 1024;

/** Where a secret (a token PIN, a passphrase) may come from, in the order `readSecret` tries them. */
export interface SecretSources {
  /** What the secret is, for messages and the prompt ("PIN"). */
  name: string;
  /** The code of every error `readSecret` throws, so that a missing secret keeps the caller's code (ERR_PKCS11_PIN_MISSING). */
  code: ErrorCode;
  /** A file holding the secret (one trailing line break is dropped). A FIFO works: a secret may come through process substitution. */
  file?: string | undefined;
  /** The secret as the environment holds it, used when no file is named; empty counts as unset. */
  env?: string | undefined;
  /** The question to ask, without echo, when neither gave the secret and `input` is a terminal; no prompt when unset. */
  prompt?: string | undefined;
  /** Told about a secret file that other users can read. */
  onWarning?: (message: string) => void;
  /** The terminal to ask on: process.stdin and process.stderr by default. */
  input?: NodeJS.ReadStream;
  output?: NodeJS.WritableStream;
}

/**
 * The secret from `file`, else `env`, else typed at a hidden prompt (nothing
 * is echoed); undefined when none of them gives it. Errors never quote the
 * secret, nor the file's path when it cannot be read (a secret typed where
 * its path belongs would be printed back).
 *
 * Throws `sources.code` when the file cannot be read, is empty or too large,
 * or the prompt is cancelled (Ctrl-C).
 *
 * @example
 * const pin = await readSecret({ name: 'PIN', code: 'ERR_PKCS11_PIN_MISSING', env: process.env.MY_PIN, prompt: 'PIN: ' });
 */
export async function readSecret(sources: SecretSources): Promise<string | undefined> {
  if (sources.file) return readSecretFile(sources.file, sources);
  if (sources.env) return sources.env;
  const input = sources.input ?? process.stdin;
  if (sources.prompt === undefined || !input.isTTY) return undefined;
  return promptHidden(sources.prompt, input, sources.output ?? process.stderr, sources);
}

function readSecretFile(path: string, { name, code, onWarning }: SecretSources): string {
  let text: string;
  try {
    const st = statSync(path);
    if (st.isDirectory()) throw Object.assign(new Error(), { code: 'EISDIR' });
    if (st.isFile() && st.size > MAX_SECRET_FILE_BYTES) throw Object.assign(new Error(), { code: 'too large' });
    if (st.mode & 0o077) onWarning?.(`${name} file ${path} is readable by other users; chmod 600 it`);
    text = readFileSync(path, 'utf8');
  } catch (cause) {
    const why = (cause as { code?: string }).code;
    const reason = why === 'ENOENT' ? 'no such file' : why === 'EISDIR' ? 'it is a directory' : (why ?? 'error');
    throw new ErstError(code, `cannot read the ${name} file: ${reason}`);
  }
  const secret = text.replace(/\r?\n$/, '');
  if (secret.length === 0) throw new ErstError(code, `the ${name} file is empty`);
  return secret;
}

/** Reads one line from a terminal in raw mode, echoing nothing; Backspace edits, Ctrl-C cancels. */
function promptHidden(
  question: string,
  input: NodeJS.ReadStream,
  output: NodeJS.WritableStream,
  { name, code }: SecretSources,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let secret = '';
    output.write(question);
    const finish = () => {
      input.off('data', onData);
      input.setRawMode(false);
      input.pause();
      output.write('\n');
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === '\r' || ch === '\n' || ch === '\u0004') {
          finish();
          resolve(secret);
          return;
        }
        if (ch === '\u0003') {
          finish();
          reject(new ErstError(code, `${name} entry cancelled`));
          return;
        }
        if (ch === '\u007f' || ch === '\b') secret = secret.slice(0, -1);
        else secret += ch;
      }
    };
    input.setEncoding('utf8');
    input.setRawMode(true);
    input.resume();
    input.on('data', onData);
  });
}
