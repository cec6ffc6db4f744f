import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['{shared,cloud,edge-agent,device-sdk,cli,toolchain,models,test}/**/*.test.ts'],
    exclude: ['**/node_modules/**'],
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // 2-core machines: keep parallel files modest so real sockets and onnxruntime are not starved.
    maxWorkers: 2,
  },
});
