/**
 * The browser side of the gateway, mounted by createApp when CloudServer passes `web`: dashboard
 * sessions, the live stream, the models' quantization and calibration reports, the pages and, on a
 * demo-enabled cloud, the playground's config and model.
 */
import type { Hono } from 'hono';
import type { DemoPlayground } from './demo-playground.ts';
import type { LiveFeed } from './live-feed.ts';
import { type ModelReports, registerModelReportRoutes } from './model-reports.ts';
import { registerSessionRoutes } from './session-routes.ts';
import { registerWebPages, type WebPagesOptions } from './web-pages.ts';
import type { WebSessions } from './web-sessions.ts';

export interface WebAppDeps {
  sessions: WebSessions;
  live: LiveFeed;
  /** The reports of the cloud's model repository (Models page); none without. */
  reports?: ModelReports;
  pages?: WebPagesOptions;
  /** Present on a cloud started with --demo. */
  demo?: { playground: DemoPlayground; wsPath: string };
}

export function registerWeb(app: Hono, web: WebAppDeps): void {
  registerSessionRoutes(app, web.sessions);
  web.live.register(app);
  if (web.reports) registerModelReportRoutes(app, web.reports);
  registerWebPages(app, web.pages);
  web.demo?.playground.register(app, web.demo.wsPath);
}
