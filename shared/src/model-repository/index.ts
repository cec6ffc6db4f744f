export * from './cascade.ts';
export * from './check.ts';
export * from './quantized-model.ts';
export * from './repository.ts';
export * from './scaffold.ts';
export * from './validate.ts';
