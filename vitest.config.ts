import { defineConfig } from 'vitest/config';

// Two groups, one after the other. Most test files wait on I/O (PostgreSQL, Redis, HTTP to the
// fake platforms, child processes), so they run several at a time even on two cores; every such
// file isolates its own keys, queues and databases (tests/helpers/services.ts). The files that
// measure latency or kill and restart processes run afterwards, one at a time, on a quiet machine.
const SERIAL = ['tests/faults/**/*.test.ts', 'tests/load/**/*.test.ts', 'tests/e2e/broadcast-crash.test.ts', 'tests/broadcast/rate-limits.test.ts'];

const common = {
  testTimeout: 30_000,
  hookTimeout: 60_000,
  pool: 'forks' as const,
};

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          ...common,
          name: 'parallel',
          include: ['tests/**/*.test.ts'],
          exclude: SERIAL,
          maxWorkers: Number(process.env.TEST_WORKERS ?? 3),
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...common,
          name: 'serial',
          include: SERIAL,
          maxWorkers: 1,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
