import { describe, expect, it } from 'vitest';
import { createRequire } from 'node:module';
import type { Argv } from 'yargs';
import yargs from 'yargs';

// The build the CLIs use (see ../parser.ts): it wraps help at spaces.
const createYargs = createRequire(import.meta.url)('yargs/yargs') as (args: string[]) => Argv;
import { helpExample, helpWidth, joinPemValues, redactUsageMessage } from '../cli-args.js';

const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';
const PEM =
  '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEASECWJ6tx9yrw1zk3SJGM8fe4Hu7cqvnXCaAUQ+iiKBY=\n-----END PUBLIC KEY-----\n';

/** The message yargs itself fails with, for a small strict command line like erst's. */
async function yargsFailure(args: string[]): Promise<string> {
  let failure = '';
  await yargs(args)
    .strict()
    .exitProcess(false)
    .command('sign', 'sign', (y) =>
      y
        .option('schema', { type: 'string', choices: ['2.0.0', '1.1.0'] })
        .option('key-file', { type: 'string' })
        .option('attestation', { type: 'boolean' }),
    )
    .fail((msg) => {
      failure = msg;
    })
    .parseAsync();
  return failure;
}

describe('redactUsageMessage', () => {
  it('names unknown options but never prints an unexpected positional value', async () => {
    const args = ['sign', '--key-file', 'k.pem', SEED, '--pubic-key', 'x', '-q'];
    const raw = await yargsFailure(args);
    expect(raw).toContain(SEED);
    const msg = redactUsageMessage(raw, args);
    expect(msg).not.toContain(SEED);
    expect(msg).toContain('--pubic-key');
    expect(msg).toContain('-q');
    expect(msg).not.toContain('pubicKey');
    expect(msg).toMatch(/an unexpected argument/);
  });

  it('counts several unexpected values without showing any, even one that holds ", "', async () => {
    const args = ['sign', 'a, b', SEED];
    const msg = redactUsageMessage(await yargsFailure(args), args);
    expect(msg).not.toMatch(/a, b|9d61/);
    expect(msg).toMatch(/unexpected arguments/);
  });

  it('does not name an unknown "option" that is PEM text', async () => {
    const args = ['sign', '--key-file', 'k.pem', PEM];
    const raw = await yargsFailure(args);
    const msg = redactUsageMessage(raw, args);
    expect(msg).not.toMatch(/BEGIN|MCow/);
  });

  it('names the flag and its choices, not the value, for an invalid choice', async () => {
    const args = ['sign', '--schema', SEED];
    const raw = await yargsFailure(args);
    expect(raw).toContain(SEED);
    const msg = redactUsageMessage(raw, args);
    expect(msg).not.toContain(SEED);
    expect(msg).toContain('--schema must be one of "2.0.0", "1.1.0"');
    expect(msg).not.toContain('\n');
  });

  it('hides a multi-line value given to a choice flag', async () => {
    const args = ['sign', `--schema=${PEM}`];
    const msg = redactUsageMessage(await yargsFailure(args), args);
    expect(msg).not.toMatch(/BEGIN|MCow/);
    expect(msg).toContain('--schema must be one of');
  });

  it('leaves messages that quote no value unchanged', () => {
    for (const msg of [
      'Missing required argument: label',
      'Not enough arguments following: payload',
      'Did you mean sign?',
    ]) {
      expect(redactUsageMessage(msg, ['sign', SEED])).toBe(msg);
    }
  });
});

describe('joinPemValues', () => {
  it('makes PEM text after a PEM flag its value', () => {
    expect(joinPemValues(['verify', 'a.json', '--public-key', PEM, '--attestation-root', PEM])).toEqual([
      'verify',
      'a.json',
      `--public-key=${PEM}`,
      `--attestation-root=${PEM}`,
    ]);
    expect(joinPemValues(['--software-private-key', PEM, '--key-file', PEM])).toEqual([
      `--software-private-key=${PEM}`,
      `--key-file=${PEM}`,
    ]);
  });

  it('leaves other flags, other values and everything after -- alone', () => {
    const args = ['--public-key', 'abcd', '--json', PEM, '--', '--public-key', PEM];
    expect(joinPemValues(args)).toEqual(args);
  });

  it('lets yargs parse the PEM as the value of a repeatable flag', () => {
    const argv = yargs(joinPemValues(['verify', '--public-key', PEM, 'log.json']))
      .option('public-key', { type: 'string', array: true, nargs: 1 })
      .parseSync();
    expect(argv['public-key']).toEqual([PEM]);
    expect(argv._).toEqual(['verify', 'log.json']);
  });
});

describe('help layout', () => {
  it('fills a wide terminal, never goes below 80 columns, and does not wrap when not on a terminal', () => {
    expect(helpWidth(200)).toBe(200);
    expect(helpWidth(100)).toBe(100);
    expect(helpWidth(40)).toBe(80);
    expect(helpWidth(undefined)).toBeNull();
    expect(helpWidth(null)).toBeNull();
  });

  it('keeps an example command that fits 80 columns whole, where yargs would break it', async () => {
    const command = '$0 audit sign --hsm-provider pkcs11 --key-label audit --payload @sim.json';
    const shown = command.replace('$0', 'erst');
    const help = async (example: [string, string][]) =>
      (await createYargs([]).scriptName('erst').example(example).wrap(helpWidth(80)).getHelp())
        .split('\n')
        .map((l) => l.trimEnd());
    expect(await help([[command, 'Sign on a token']])).not.toContain(`  ${shown}`);
    expect(await help(helpExample(command, 'Sign on a token'))).toEqual(
      expect.arrayContaining(['  # Sign on a token', `  ${shown}`]),
    );
  });

  it('continues a longer command over lines the way a shell does', () => {
    expect(helpExample(['$0 verify a b', '--json c'], 'Verify')).toEqual([
      ['# Verify', ''],
      ['$0 verify a b \\', ''],
      ['--json c', ''],
    ]);
  });
});
