import { closeSync, openSync, readFileSync, unlinkSync, writeSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { ErstError } from '@erst/core';

/** The lock file in a log directory; it holds the writer's pid. Not part of the served log. */
export const LOCK_FILE = '.lock';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    // EPERM: the process exists but belongs to someone else.
    return (e as { code?: string }).code === 'EPERM';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Lock files this process holds. A lock naming our own pid that is not here
 * was left by an earlier process that had the same pid (pids repeat, in a
 * container nearly always): it is stale, not ours.
 */
const held = new Set<string>();

/**
 * Takes the log's single-writer lock: creates `.lock` with O_EXCL and writes
 * the pid into it. A lock whose process is gone (killed) is taken over; a
 * live one is waited for up to `timeoutMs`, then ERR_LOG_LOCKED. Returns the
 * release function.
 */
export async function acquireLock(dir: string, timeoutMs: number): Promise<() => void> {
  const path = join(dir, LOCK_FILE);
  const deadline = Date.now() + timeoutMs;
  for (let wait = 10; ; wait = Math.min(wait * 2, 200)) {
    try {
      const fd = openSync(path, 'wx', 0o644);
      try {
        writeSync(fd, `${process.pid}\n`);
      } finally {
        closeSync(fd);
      }
      const key = resolve(path);
      held.add(key);
      return () => {
        if (!held.delete(key)) return;
        try {
          unlinkSync(path);
        } catch {
          // already removed
        }
      };
    } catch (e) {
      if ((e as { code?: string }).code !== 'EEXIST') {
        throw new ErstError('ERR_OUTPUT_WRITE', `cannot create the lock file in ${dir}`, {
          cause: e,
          details: { file: path },
        });
      }
    }
    let holder: number | undefined;
    try {
      holder = Number.parseInt(readFileSync(path, 'utf8'), 10);
    } catch {
      // released between our open and read: try again at once
      continue;
    }
    // A pid that is not running any more is a writer that was killed: its lock is stale (so is our
    // own pid on a lock we never took: a killed process before us had it).
    // An empty or unreadable lock file is one being written right now, so it is waited for.
    const stale = holder === process.pid ? !held.has(resolve(path)) : !alive(holder);
    if (Number.isSafeInteger(holder) && holder > 0 && stale) {
      try {
        unlinkSync(path);
      } catch {
        // another waiter removed it first
      }
      continue;
    }
    if (Date.now() >= deadline) {
      throw new ErstError('ERR_LOG_LOCKED', `the log in ${dir} is locked by another writer (pid ${holder})`, {
        details: { dir, pid: holder },
      });
    }
    await sleep(wait);
  }
}
