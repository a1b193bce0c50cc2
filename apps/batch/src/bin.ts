#!/usr/bin/env node
import { filesWithin, lastResort } from '@erst/cli-harness/launch'; // not the index: this thread needs no yargs
import { Worker } from 'node:worker_threads';
import type { CoordinatorMessage, CoordinatorRequest } from './coordinator.js';

// The command runs on a coordinator thread; this main thread only starts it,
// relays signals and sets the exit code. Why: V8 grows a thread's young
// generation with what survives its collections, and the chunks a run keeps
// in flight survive many of them, so over a long run the main thread's young
// generation grew to its ceiling (peak RSS +20% from 5,000 to 50,000 records,
// still rising at 150,000). A worker's young generation can be capped; the
// main thread's only by flags on node's command line.
const COORDINATOR_YOUNG_GENERATION_MB = 8;
/** How long a stopped run may take to clean up before the process exits anyway. */
const STOP_GRACE_MS = 5000;

// The command (yargs, the verifier, everything main.js imports) loads on the
// coordinator thread only: loading it here too would double the start-up.
// This thread needs it only to report a bug.
const loadMain = () => import('./main.js');

// Nothing may reach the user as a stack trace: anything that escapes is a bug,
// one coded line (ERR_INTERNAL), exit 70 (lastResort: once, even when main.js
// itself is what failed to load).
const fatal = lastResort('erst-batch', async () => (await loadMain()).formatError);
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);

/**
 * A run whose named files total at most this (and no directory) is too small
 * to need the coordinator (its young generation cap matters only over
 * thousands of records) and runs here instead: starting the coordinator
 * thread was a third of `erst-batch verify one.json`.
 */
const SMALL_RUN_BYTES = 1 << 20;

const args = process.argv.slice(2);
if (filesWithin(args, SMALL_RUN_BYTES)) {
  const { interruptedLine, main } = await loadMain();
  // As the coordinator does: one line, then exiting runs the 'exit' handlers that remove an unfinished state file.
  const stop = (signal: 'SIGINT' | 'SIGTERM', code: number) =>
    process.stderr.write(interruptedLine(signal), () => process.exit(code));
  process.once('SIGINT', () => stop('SIGINT', 130));
  process.once('SIGTERM', () => stop('SIGTERM', 143));
  process.exitCode = await main(args, process.stdout.columns);
} else {
  startCoordinator(args);
}

function startCoordinator(argv: string[]): void {
  const coordinator = new Worker(new URL('./coordinator.js', import.meta.url), {
    // The terminal's width, for --help: a worker's stdout is a pipe to this thread.
    workerData: { argv, columns: process.stdout.columns },
    resourceLimits: { maxYoungGenerationSizeMb: COORDINATOR_YOUNG_GENERATION_MB },
  });
  let exitCode: number | undefined;
  coordinator.on('message', (msg: CoordinatorMessage) => {
    if ('exit' in msg) {
      exitCode = msg.exit;
    } else {
      // A bug, reported by the coordinator: exit 70 (set when it has exited).
      process.stderr.write(`${msg.fatal}\n`);
    }
  });
  coordinator.on('error', fatal);
  // A coordinator that ends without reporting an exit code crashed: a bug.
  coordinator.on('exit', () => {
    if (exitCode !== undefined) process.exitCode = exitCode;
    else
      void loadMain().then(({ EXIT }) => {
        process.exitCode = EXIT.INTERNAL;
      });
  });

  // Stopped by cron's timeout or by hand: the coordinator exits through its
  // 'exit' handlers, which remove a half-written state file (the previous state
  // stays in place).
  const stop = (code: number): void => {
    exitCode = code;
    coordinator.postMessage({ stop: code } satisfies CoordinatorRequest);
    setTimeout(() => process.exit(code), STOP_GRACE_MS).unref();
  };
  process.once('SIGINT', () => stop(130));
  process.once('SIGTERM', () => stop(143));
}
