import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ErstError } from '@erst/core';
import { tempDir } from '@erst/fixtures';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type CliApp, command, errorReporting, handle, helpExample, packageVersion, run } from '../index.js';

const SEED = '9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60';

/** A program with one command, `go`, that exits with `--code` or throws what `--fail` names. */
const TOOL: CliApp = {
  name: 'tool',
  description: 'Does one thing.',
  version: '1.2.3',
  errors: errorReporting({
    name: 'tool',
    exitCodes: { verification: 1, input: 2, usage: 4, signer: 3, internal: 70 },
    flags: { keyId: '--key-id' },
  }),
  commands: (parser, ctx) =>
    parser.demandCommand(1, 'Name a command: go.').command(
      'go',
      'Go somewhere far away, with a description long enough to need wrapping on a terminal eighty columns wide',
      (y) =>
        y
          .option('code', { type: 'number', default: 0, describe: 'Exit status to return' })
          .option('fail', { type: 'string', choices: ['option', 'bug'], describe: 'What to throw' })
          .example(helpExample('$0 go --code 1 --fail option --fail option --fail option --fail bug', 'Fail')),
      handle(ctx, async (argv: { code: number; fail?: string }) => {
        if (argv.fail === 'option')
          throw new ErstError('ERR_OPTIONS_INVALID', '`keyId` is wrong', { details: { options: ['keyId'] } });
        if (argv.fail === 'bug') throw new TypeError('boom');
        return argv.code;
      }),
    ),
};

/** Runs TOOL, with what it writes to stdout (help goes through console.log) and stderr. */
async function runTool(args: string[], columns?: number): Promise<{ code: number; stdout: string; stderr: string }> {
  const log = vi.spyOn(console, 'log').mockImplementation(() => {});
  const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
  try {
    const code = await run(TOOL, args, columns);
    return {
      code,
      stdout: log.mock.calls.map((c) => c.join(' ')).join('\n'),
      stderr: err.mock.calls.map((c) => String(c[0])).join(''),
    };
  } finally {
    log.mockRestore();
    err.mockRestore();
  }
}

afterEach(() => vi.restoreAllMocks());

describe('run', () => {
  it("returns the handler's exit status", async () => {
    expect(await runTool(['go'])).toEqual({ code: 0, stdout: '', stderr: '' });
    expect((await runTool(['go', '--code', '5'])).code).toBe(5);
  });

  it("turns what a handler throws into one coded line in the program's terms and its exit status", async () => {
    expect(await runTool(['go', '--fail', 'option'])).toEqual({
      code: 4,
      stdout: '',
      stderr: 'tool: error ERR_USAGE: --key-id is wrong\n',
    });
    const bug = await runTool(['go', '--fail', 'bug']);
    expect(bug.code).toBe(70);
    expect(bug.stderr).toBe('tool: error ERR_INTERNAL: TypeError: boom (this is a bug; please report it)\n');
  });

  it('refuses bad usage with ERR_USAGE, never printing a value back and never running the handler', async () => {
    for (const args of [['go', SEED], ['go', '--fail', SEED], ['go', '--bogus'], []]) {
      const r = await runTool(args);
      expect(r.code, args.join(' ')).toBe(4);
      expect(r.stderr).toMatch(/^tool: error ERR_USAGE: .* \(run with --help for usage and examples\)\n$/);
      expect(r.stderr).not.toContain(SEED);
    }
    expect((await runTool(['go', '--bogus'])).stderr).toContain('unknown option --bogus');
    expect((await runTool([])).stderr).toContain('Name a command: go.');
  });

  it('prints the version it was given and help, exit 0, without exiting the process', async () => {
    expect(await runTool(['--version'])).toEqual({ code: 0, stdout: '1.2.3', stderr: '' });
    const help = await runTool(['--help']);
    expect(help.code).toBe(0);
    expect(help.stdout).toContain('tool <command>\n\nDoes one thing.');
  });

  it('wraps help to the terminal (never under 80 columns), keeps examples whole, and does not wrap off a terminal', async () => {
    const at = async (columns: number | undefined) => (await runTool(['go', '--help'], columns)).stdout.split('\n');
    for (const line of await at(40)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(await at(40)).toContain('  tool go --code 1 --fail option --fail option --fail option --fail bug');
    expect((await at(undefined)).some((l) => l.length > 80)).toBe(true);
  });
});

describe('command', () => {
  it('runs with the arguments its builder declares; its result is the exit status, what it throws is mapped', async () => {
    const app: CliApp = {
      ...TOOL,
      commands: (parser, ctx) =>
        parser.command(
          command(ctx, {
            command: 'twice',
            describe: 'Exits with twice --n',
            builder: (y) => y.option('n', { type: 'number', demandOption: true }),
            run: async (argv) => {
              if (argv.n < 0)
                throw new ErstError('ERR_OPTIONS_INVALID', '`keyId` is negative', { details: { options: ['keyId'] } });
              return argv.n * 2;
            },
          }),
        ),
    };
    const err = vi.spyOn(process.stderr, 'write').mockImplementation(() => true);
    expect(await run(app, ['twice', '--n', '3'])).toBe(6);
    expect(await run(app, ['twice', '--n=-1'])).toBe(4);
    expect(err).toHaveBeenCalledWith('tool: error ERR_USAGE: --key-id is negative\n');
  });
});

describe('packageVersion', () => {
  it("reads the version from the program's own package.json", () => {
    const file = join(tempDir('erst-harness-'), 'package.json');
    writeFileSync(file, JSON.stringify({ name: 'x', version: '9.8.7' }));
    expect(packageVersion(pathToFileURL(file))).toBe('9.8.7');
  });
});
