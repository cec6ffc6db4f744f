export * from './cascade.ts';
export * from './check.ts';
export * from './repository.ts';
export * from './validate.ts';
