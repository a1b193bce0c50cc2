import { erstVitestConfig } from '@erst/vitest-config';

// These tests spawn the built binaries, often with hostile files (FIFOs,
// symlinks); files run one at a time on this small machine.
export default erstVitestConfig({ test: { fileParallelism: false, testTimeout: 60_000 } });
