/** The pages when they were not built: `/` and `/playground` say what to run; the API is untouched. */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Hono } from 'hono';
import { afterAll, describe, expect, it } from 'vitest';
import { registerWebPages } from './web-pages.ts';

const empty = mkdtempSync(join(tmpdir(), 'fogline-no-web-'));
afterAll(() => rmSync(empty, { recursive: true, force: true }));

describe('web pages not built', () => {
  it('answers 503 with the command that builds them', async () => {
    const app = new Hono();
    registerWebPages(app, { distDir: empty });
    for (const path of ['/', '/playground']) {
      const res = await app.request(`http://localhost${path}`);
      expect(res.status, path).toBe(503);
      expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8');
      expect(await res.text()).toContain('Run <code>npm run build:web</code>');
    }
  });
});
