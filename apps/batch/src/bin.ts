#!/usr/bin/env node
import { formatError, main } from './main.js';

// Nothing may reach the user as a stack trace: anything that escapes is one coded line, exit 2.
const fatal = (error: unknown): void => {
  process.stderr.write(`${formatError(error)}\n`);
  process.exit(2);
};
process.on('uncaughtException', fatal);
process.on('unhandledRejection', fatal);
// Stopped by cron's timeout or by hand: exit through 'exit' handlers, which
// remove a half-written state file (the previous state stays in place).
process.once('SIGINT', () => process.exit(130));
process.once('SIGTERM', () => process.exit(143));

process.exitCode = await main(process.argv.slice(2));
