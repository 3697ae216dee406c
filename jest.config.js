// Unit tests: pure logic, fast. Workflow tests: the real workflows on a local Temporal dev
// server (the Temporal CLI from scripts/setup.sh) against fake host workers; no root, no CRIU.
// End-to-end tests: a real Temporal dev server, real CRIU, runc and rsync over SSH between
// simulated hosts, brought up once by test/e2e/global-setup.mjs.
const common = {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  transform: { '^.+\\.ts$': ['ts-jest', { useESM: true, tsconfig: 'tsconfig.test.json' }] },
};

export default {
  // End-to-end tests migrate real workloads; unit tests finish in milliseconds anyway.
  testTimeout: 180_000,
  // The workflow tests' rows run concurrently (test.concurrent), each on its own fake hosts:
  // most rows wait on Temporal's real retry backoffs and timeouts (time does not skip).
  maxConcurrency: 12,
  projects: [
    { ...common, displayName: 'unit', testMatch: ['<rootDir>/test/unit/**/*.test.ts'] },
    { ...common, displayName: 'workflow', testMatch: ['<rootDir>/test/workflow/**/*.test.ts'] },
    {
      ...common,
      displayName: 'e2e',
      testMatch: ['<rootDir>/test/e2e/**/*.test.ts'],
      globalSetup: '<rootDir>/test/e2e/global-setup.mjs',
      globalTeardown: '<rootDir>/test/e2e/global-teardown.mjs',
    },
  ],
};
