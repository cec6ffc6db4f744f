import { defineConfig } from 'vitest/config';
import PlainSummaryReporter from './test/plain-summary-reporter.ts';

export default defineConfig({
  test: {
    include: ['{shared,cloud,edge-agent,device-sdk,cli,toolchain,models,test,bench}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    reporters: ['default', new PlainSummaryReporter()],
    globalSetup: ['test/global-setup.ts'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machines: keep parallel files modest so real sockets and onnxruntime are not starved.
    maxWorkers: 2,
  },
});
