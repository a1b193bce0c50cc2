// CPU time by thread of a process tree, from Linux's /proc: a diagnostic for
// benchmarks whose work is spread over threads of other processes (a
// browser's renderer, its workers). Elsewhere it measures nothing (null).
import { existsSync, readFileSync, readdirSync } from 'node:fs';

const TICKS_PER_S = 100;

/** Fields of a /proc stat line after the command name: [state, ppid, ..., utime (11), stime (12)]. */
function statFields(path) {
  const s = readFileSync(path, 'utf8');
  return { name: s.slice(s.indexOf('(') + 1, s.lastIndexOf(')')), f: s.slice(s.lastIndexOf(')') + 2).split(' ') };
}

/** Every thread of `root` and its descendants: "pid/tid" → { process, thread, seconds }. */
function snapshot(root) {
  const parent = new Map();
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      parent.set(Number(d), Number(statFields(`/proc/${d}/stat`).f[1]));
    } catch {
      // Gone since the listing.
    }
  }
  const tree = new Set([root]);
  for (let grew = true; grew; ) {
    grew = false;
    for (const [pid, ppid] of parent) {
      if (!tree.has(pid) && tree.has(ppid)) {
        tree.add(pid);
        grew = true;
      }
    }
  }
  const out = new Map();
  for (const pid of tree) {
    try {
      // Chromium names its child processes by --type= (renderer, gpu-process, utility); the first is the browser.
      const kind = readFileSync(`/proc/${pid}/cmdline`, 'utf8').match(/--type=([a-z-]+)/)?.[1] ?? 'browser';
      for (const tid of readdirSync(`/proc/${pid}/task`)) {
        const { name, f } = statFields(`/proc/${pid}/task/${tid}/stat`);
        out.set(`${pid}/${tid}`, {
          process: kind,
          thread: name,
          seconds: (Number(f[11]) + Number(f[12])) / TICKS_PER_S,
        });
      }
    } catch {
      // Gone since the listing.
    }
  }
  return out;
}

/**
 * Samples the CPU time of every thread of `root`'s process tree until
 * `stop()`, which returns the seconds each used meanwhile, by
 * `${process}:${thread}` (threads of one name summed; dedicated workers each
 * on their own, in the order they started). A thread that ends between two
 * samples (a terminated worker) loses at most one interval (100 ms).
 */
export function threadCpu(root) {
  if (!existsSync('/proc/self/task')) return { stop: () => null };
  const base = snapshot(root);
  const last = new Map(base);
  const sample = () => {
    for (const [k, v] of snapshot(root)) last.set(k, v);
  };
  const timer = setInterval(sample, 100);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const by = new Map();
      let workers = 0;
      for (const [k, v] of last) {
        const used = v.seconds - (base.get(k)?.seconds ?? 0);
        if (used <= 0) continue;
        const name = v.thread.startsWith('DedicatedWorker') ? `worker ${++workers}` : `${v.process}:${v.thread}`;
        by.set(name, (by.get(name) ?? 0) + used);
      }
      return by;
    },
  };
}
