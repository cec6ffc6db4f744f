/**
 * @fogline/shared: the pure core (no I/O). Node-only modules are imported by path:
 * '@fogline/shared/model-repository/index' and '@fogline/shared/digits-dataset'.
 */
export * from './clock.ts';
export * from './codec.ts';
export * from './core/routing/index.ts';
export * from './errors.ts';
export * from './oip.ts';
export * from './token-bucket.ts';
