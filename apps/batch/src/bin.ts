#!/usr/bin/env node
process.stderr.write('erst-batch: not built yet\n');
process.exitCode = 2;
