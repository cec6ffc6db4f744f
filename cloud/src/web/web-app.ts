/**
 * The browser side of the gateway, mounted by createApp when CloudServer passes `web`: dashboard
 * sessions, the live stream, the pages and, on a demo-enabled cloud, the playground's config and model.
 */
import type { Hono } from 'hono';
import type { DemoPlayground } from './demo-playground.ts';
import type { LiveFeed } from './live-feed.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerWebPages, type WebPagesOptions } from './web-pages.ts';
import type { WebSessions } from './web-sessions.ts';

export interface WebAppDeps {
  sessions: WebSessions;
  live: LiveFeed;
  pages?: WebPagesOptions;
  /** Present on a cloud started with --demo. */
  demo?: { playground: DemoPlayground; wsPath: string };
}

export function registerWeb(app: Hono, web: WebAppDeps): void {
  registerSessionRoutes(app, web.sessions);
  web.live.register(app);
  registerWebPages(app, web.pages);
  web.demo?.playground.register(app, web.demo.wsPath);
}
