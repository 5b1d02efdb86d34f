import { defineConfig } from 'drizzle-kit';

export default defineConfig({
  dialect: 'sqlite',
  schema: './schema/index.ts',
  out: process.env.MW_MIGRATIONS_OUT ?? '../../migrations',
});
