#!/usr/bin/env node
import { lastResort } from '@erst/cli-harness/launch';

// Anything that escapes is a bug: one coded line, exit 70, even when main.js cannot load (a broken install).
const fatal = lastResort('erst', async () => (await import('./exit.js')).ERRORS.formatError);
for (const event of ['uncaughtException', 'unhandledRejection'] as const) process.on(event, fatal);
const { main } = await import('./main.js');
process.exitCode = await main(process.argv.slice(2));
