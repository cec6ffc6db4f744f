export * from './config.ts';
export * from './repository.ts';
export * from './validate.ts';
