/**
 * drizzle-kit configuration for the control-plane schema. Run from the repository root:
 *   npx drizzle-kit generate --config cloud/drizzle.config.ts
 * Generated SQL lands in cloud/drizzle/ and is committed; the store applies it at open time.
 */
import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'postgresql',
  schema: './cloud/src/store/schema.ts',
  out: './cloud/drizzle',
  strict: true,
  verbose: true,
});
