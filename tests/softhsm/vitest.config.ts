import { erstVitestConfig } from '@erst/vitest-config';

// Each test file creates its own SoftHSM token directory; files run one at a
// time because the machine is small and the CLI tests spawn many processes.
export default erstVitestConfig({ test: { fileParallelism: false, testTimeout: 60_000 } });
