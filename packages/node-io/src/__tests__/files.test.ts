import { type ChildProcess, execFileSync, spawn, spawnSync } from 'node:child_process';
import {
  lstatSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  readlinkSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { type Server, createServer } from 'node:net';
import { join } from 'node:path';
import { tempDir } from '@erst/fixtures';
import { afterEach, describe, expect, it } from 'vitest';
import { atomicTempPath, isAtomicTempName, openInputFile, readInputFile, writeOutput } from '../index.js';

const children: ChildProcess[] = [];
const servers: Server[] = [];
afterEach(() => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  for (const s of servers.splice(0)) s.close();
});

function mkfifo(path: string): string {
  execFileSync('mkfifo', [path]);
  return path;
}

/** A character device like /dev/null, made in `dir` so that no test can replace the real one. */
function nullDevice(dir: string): string {
  const path = join(dir, 'null');
  execFileSync('mknod', [path, 'c', '1', '3']);
  return path;
}

async function socketAt(path: string): Promise<string> {
  const server = createServer();
  servers.push(server);
  await new Promise<void>((resolve) => server.listen(path, resolve));
  return path;
}

/** Runs `script` under sh with the FIFO as $0, once it printed "ready". */
async function withFifoPeer(fifo: string, script: string): Promise<ChildProcess> {
  const child = spawn('sh', ['-c', script, fifo], { stdio: ['ignore', 'pipe', 'inherit'] });
  children.push(child);
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return child;
}

const code = (fn: () => unknown): unknown => {
  try {
    fn();
  } catch (e) {
    return (e as { code?: string }).code;
  }
  return 'no error';
};

describe('reading inputs', () => {
  it('refuses a FIFO, and a link to one, as ERR_FILE_NOT_REGULAR without reading it', async () => {
    const d = tempDir('erst-node-io-');
    const fifo = mkfifo(join(d, 'record.json'));
    symlinkSync(fifo, join(d, 'link.json'));
    // A writer holds the FIFO open, so a reader that opened it would get data and not fail.
    await withFifoPeer(fifo, 'exec 3<>"$0"; echo data >&3; echo ready; sleep 1');
    expect(code(() => readInputFile(fifo))).toBe('ERR_FILE_NOT_REGULAR');
    expect(code(() => readInputFile(join(d, 'link.json')))).toBe('ERR_FILE_NOT_REGULAR');
  });

  it('refuses character devices and sockets as ERR_FILE_NOT_REGULAR', async () => {
    const d = tempDir('erst-node-io-');
    expect(code(() => readInputFile('/dev/null'))).toBe('ERR_FILE_NOT_REGULAR');
    expect(code(() => readInputFile('/dev/zero'))).toBe('ERR_FILE_NOT_REGULAR');
    const sock = await socketAt(join(d, 'sock'));
    expect(code(() => readInputFile(sock))).toBe('ERR_FILE_NOT_REGULAR');
  });

  it('still reads regular files through links, and files that report a size of 0 (/proc)', () => {
    const d = tempDir('erst-node-io-');
    writeFileSync(join(d, 'a.json'), '{"a":1}');
    symlinkSync(join(d, 'a.json'), join(d, 'b.json'));
    expect(readInputFile(join(d, 'b.json')).toString()).toBe('{"a":1}');
    expect(readInputFile('/proc/self/status').toString()).toMatch(/^Name:/);
    expect(code(() => readInputFile('/proc/self/status', 10))).toBe('ERR_INPUT_TOO_LARGE');
  });

  it('openInputFile opens regular files only, and never waits for a FIFO writer', async () => {
    const d = tempDir('erst-node-io-');
    writeFileSync(join(d, 'a.jsonl'), 'x\n');
    const handle = await openInputFile(join(d, 'a.jsonl'));
    expect((await handle.readFile()).toString()).toBe('x\n');
    await handle.close();
    await expect(openInputFile(mkfifo(join(d, 'f.jsonl')))).rejects.toMatchObject({ code: 'ERR_FILE_NOT_REGULAR' });
    await expect(openInputFile('/dev/zero')).rejects.toMatchObject({ code: 'ERR_FILE_NOT_REGULAR' });
    await expect(openInputFile(d)).rejects.toMatchObject({ code: 'ERR_FILE_IS_DIRECTORY' });
    await expect(openInputFile(join(d, 'nope'))).rejects.toMatchObject({ code: 'ERR_FILE_NOT_FOUND' });
  });
});

describe('writeOutput', () => {
  it('writes through a character device, which stays a device', () => {
    const d = tempDir('erst-node-io-');
    const dev = nullDevice(d);
    writeOutput(dev, 'report');
    expect(statSync(dev).isCharacterDevice()).toBe(true);
    expect(readdirSync(d)).toEqual(['null']);
  });

  it('fails on a FIFO no one reads (ERR_OUTPUT_WRITE) instead of waiting, and leaves it a FIFO', () => {
    const d = tempDir('erst-node-io-');
    const fifo = mkfifo(join(d, 'out'));
    expect(code(() => writeOutput(fifo, 'report'))).toBe('ERR_OUTPUT_WRITE');
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('writes everything to a FIFO whose reader is slower than the pipe is large', async () => {
    const d = tempDir('erst-node-io-');
    const fifo = mkfifo(join(d, 'out'));
    const got = join(d, 'got');
    // The reader opens the FIFO (counted as a reader while it waits for a writer), then reads late.
    const reader = spawn('sh', ['-c', 'exec <"$0"; sleep 0.3; exec cat > "$1"', fifo, got], { stdio: 'ignore' });
    children.push(reader);
    const exited = new Promise((resolve) => reader.once('exit', resolve));
    const data = Buffer.alloc(1 << 20, 'x');
    for (let tries = 0; ; tries++) {
      try {
        writeOutput(fifo, data);
        break;
      } catch (e) {
        if ((e as { code?: string }).code !== 'ERR_OUTPUT_WRITE' || tries > 100) throw e;
        await new Promise((resolve) => setTimeout(resolve, 20)); // the reader has not opened it yet
      }
    }
    expect(await exited).toBe(0);
    expect(statSync(got).size).toBe(data.length);
    expect(statSync(fifo).isFIFO()).toBe(true);
  });

  it('replaces the file a symbolic link points to, and keeps the link (also when the file does not exist yet)', () => {
    const d = tempDir('erst-node-io-');
    mkdirSync(join(d, 'real'));
    writeFileSync(join(d, 'real', 'report.json'), 'old');
    symlinkSync(join('real', 'report.json'), join(d, 'link.json'));
    writeOutput(join(d, 'link.json'), 'new');
    expect(lstatSync(join(d, 'link.json')).isSymbolicLink()).toBe(true);
    expect(readFileSync(join(d, 'real', 'report.json'), 'utf8')).toBe('new');
    expect(readdirSync(join(d, 'real'))).toEqual(['report.json']);

    symlinkSync(join(d, 'real', 'later.json'), join(d, 'dangling.json'));
    writeOutput(join(d, 'dangling.json'), 'made');
    expect(readlinkSync(join(d, 'dangling.json'))).toBe(join(d, 'real', 'later.json'));
    expect(readFileSync(join(d, 'real', 'later.json'), 'utf8')).toBe('made');
  });

  it('refuses a directory, a name ending in /, and a socket with ERR_OUTPUT_WRITE', async () => {
    const d = tempDir('erst-node-io-');
    mkdirSync(join(d, 'logs'));
    expect(code(() => writeOutput(join(d, 'logs'), 'x'))).toBe('ERR_OUTPUT_WRITE');
    expect(code(() => writeOutput(`${join(d, 'logs')}/`, 'x'))).toBe('ERR_OUTPUT_WRITE');
    expect(code(() => writeOutput(`${join(d, 'new')}/`, 'x'))).toBe('ERR_OUTPUT_WRITE');
    const sock = await socketAt(join(d, 'sock'));
    expect(code(() => writeOutput(sock, 'x'))).toBe('ERR_OUTPUT_WRITE');
    expect(statSync(sock).isSocket()).toBe(true);
    expect(readdirSync(d).sort()).toEqual(['logs', 'sock']);
  });

  it('removes temporary files that killed writers left for the same file, and only those', () => {
    const d = tempDir('erst-node-io-');
    const target = join(d, 'report.json');
    const dead = spawnSync('true').pid;
    const stale = `.report.json.${dead}.0123456789ab.tmp`;
    const running = `.report.json.${process.ppid}.0123456789ab.tmp`;
    const old = '.report.json.0123456789ab.tmp';
    const other = `.other.json.${dead}.0123456789ab.tmp`;
    for (const name of [stale, running, old, other]) writeFileSync(join(d, name), 'partial');
    writeOutput(target, 'done');
    expect(readdirSync(d).sort()).toEqual([running, old, other, 'report.json'].sort());
  });

  it('temporary names carry the writer pid, and both new and old names are recognised', () => {
    const t = atomicTempPath('/x/y/log.json');
    expect(t).toMatch(new RegExp(`^/x/y/\\.log\\.json\\.${process.pid}\\.[0-9a-f]{12}\\.tmp$`));
    expect(isAtomicTempName(t.slice('/x/y/'.length))).toBe(true);
    expect(isAtomicTempName('.log.json.0123456789ab.tmp')).toBe(true);
    expect(isAtomicTempName('log.json')).toBe(false);
  });
});
