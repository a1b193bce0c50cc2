import { chmodSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import { rejectionCode, tempDir } from '@erst/fixtures';
import { describe, expect, it } from 'vitest';
import { type SecretSources, readSecret } from '../index.js';

const CODE = 'ERR_PKCS11_PIN_MISSING';
const base: SecretSources = { name: 'PIN', code: CODE };

/** A fake terminal: what is typed goes in `input`; whatever is shown to the user lands in `shown`. */
function terminal(isTTY = true) {
  const input = Object.assign(new PassThrough(), { isTTY, raw: [] as boolean[] });
  const tty = Object.assign(input, {
    setRawMode(mode: boolean) {
      input.raw.push(mode);
      return tty;
    },
  }) as unknown as NodeJS.ReadStream & { raw: boolean[] };
  const output = new PassThrough();
  let shown = '';
  output.on('data', (b: Buffer) => {
    shown += b.toString('utf8');
  });
  return { input: tty, output, shown: () => shown };
}

describe('readSecret', () => {
  const dir = tempDir('erst-secret-');

  it('takes a file first (one trailing line break dropped), then the environment value', async () => {
    const file = join(dir, 'pin');
    writeFileSync(file, '12 34\r\n', { mode: 0o600 });
    chmodSync(file, 0o600);
    expect(await readSecret({ ...base, file, env: 'from-env' })).toBe('12 34');
    expect(await readSecret({ ...base, env: 'from-env' })).toBe('from-env');
    // Off a terminal, with nothing given: no secret, and no prompt.
    const t = terminal(false);
    expect(await readSecret({ ...base, env: '', prompt: 'PIN: ', ...t })).toBeUndefined();
    expect(t.shown()).toBe('');
  });

  it("a file that cannot be read, is empty or too large is the caller's code, never quoting path or content", async () => {
    const secretAsPath = 'S3cret-PIN-8812';
    const missing = await readSecret({ ...base, file: join(dir, secretAsPath) }).catch((e: Error) => e);
    expect(missing).toMatchObject({ code: CODE, message: 'cannot read the PIN file: no such file' });
    expect(await rejectionCode(() => readSecret({ ...base, file: dir }))).toBe(CODE);
    const empty = join(dir, 'empty');
    writeFileSync(empty, '\n', { mode: 0o600 });
    expect(await rejectionCode(() => readSecret({ ...base, file: empty }))).toBe(CODE);
    const big = join(dir, 'big');
    writeFileSync(big, 'x'.repeat(64 * 1024 + 1), { mode: 0o600 });
    expect(await rejectionCode(() => readSecret({ ...base, file: big }))).toBe(CODE);
  });

  it('warns about a file other users can read, naming the file and the fix', async () => {
    const file = join(dir, 'open-pin');
    writeFileSync(file, '1234');
    chmodSync(file, 0o644);
    const warnings: string[] = [];
    expect(await readSecret({ ...base, file, onWarning: (m) => warnings.push(m) })).toBe('1234');
    expect(warnings).toEqual([`PIN file ${file} is readable by other users; chmod 600 it`]);
  });

  it('asks on a terminal in raw mode and echoes nothing; Backspace edits', async () => {
    const t = terminal();
    const pin = readSecret({ ...base, prompt: 'PIN: ', ...t });
    t.input.write('12x\u007f34\r');
    expect(await pin).toBe('1234');
    expect(t.shown()).toBe('PIN: \n');
    expect(t.input.raw).toEqual([true, false]);
  });

  it("Ctrl-C at the prompt is the caller's code, and the terminal leaves raw mode", async () => {
    const t = terminal();
    const pin = readSecret({ ...base, prompt: 'PIN: ', ...t });
    t.input.write('12\u0003');
    expect(await rejectionCode(() => pin)).toBe(CODE);
    expect(t.input.raw).toEqual([true, false]);
  });
});
