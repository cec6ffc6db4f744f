/** @fogline/shared/secrets: API keys and device/edge tokens, generated once and stored hashed (scrypt). */
export * from './secrets.ts';
