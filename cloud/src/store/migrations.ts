/**
 * Where the committed drizzle-kit migrations live. Resolved from this file, not the working
 * directory, so `fogline up` works from anywhere (and from an installed package).
 */
import { fileURLToPath } from 'node:url';

export const MIGRATIONS_FOLDER = fileURLToPath(new URL('../../drizzle', import.meta.url));

/** Key of the PostgreSQL advisory lock that serialises migrations across replicas ('fogl'). */
export const MIGRATION_LOCK_KEY = 0x666f676c;
