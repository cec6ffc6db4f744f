export * from './repository.ts';
export * from './validate.ts';
