/** @fogline/cli/testing: runs the real `fogline` command in a child process. */
export * from './fogline-process.ts';
export * from './run-fogline.ts';
