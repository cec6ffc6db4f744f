/** @fogline/shared/secrets: API keys and device/edge tokens, generated once and stored hashed (scrypt). */
export * from './auth-throttle.ts';
export * from './credential-cache.ts';
export * from './scrypt-pool.ts';
export * from './secrets.ts';
export * from './throttled-accept.ts';
