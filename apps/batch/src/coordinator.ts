// The thread erst-batch's command runs on (see bin.ts for why it is not the
// main thread). It reports its exit code to the main thread and ends on its
// own, so that everything it wrote to stdout and stderr is delivered first.
import { parentPort, workerData } from 'node:worker_threads';
import { formatError, interruptedLine, main } from './main.js';

export type CoordinatorMessage = { exit: number } | { fatal: string };
export type CoordinatorRequest = { stop: number };

const port = parentPort!;
// SIGINT or SIGTERM reached the main thread: one line says what was left
// undone, then exiting here runs this thread's 'exit' handlers, which remove
// an unfinished state file. The line goes through this thread's stderr, after
// the progress bar it clears; its callback runs once the main thread has it.
port.on('message', (msg: CoordinatorRequest) => {
  process.stderr.write(interruptedLine(msg.stop === 130 ? 'SIGINT' : 'SIGTERM'), () => process.exit(msg.stop));
});
// Listening for a stop must not keep the thread alive once the command is done.
port.unref();

try {
  const { argv, columns } = workerData as { argv: string[]; columns?: number };
  port.postMessage({ exit: await main(argv, columns) } satisfies CoordinatorMessage);
} catch (error) {
  port.postMessage({ fatal: formatError(error) } satisfies CoordinatorMessage);
}
