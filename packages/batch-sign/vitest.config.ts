import { erstVitestConfig } from '@erst/vitest-config';

export default erstVitestConfig();
