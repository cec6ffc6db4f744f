import { defineConfig } from 'vitest/config';
import PlainSummaryReporter from './test/plain-summary-reporter.ts';

/**
 * `npm run test:faults`: the faults suite (test/faults/*.faults.ts), apart from `npm test`: it kills
 * and restarts real `fogline` processes under load (docs/reliability.md).
 */
export default defineConfig({
  test: {
    include: ['test/faults/**/*.faults.ts'],
    exclude: ['**/node_modules/**'],
    reporters: ['default', new PlainSummaryReporter()],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 240_000,
    hookTimeout: 120_000,
    maxWorkers: 1,
  },
});
