/**
 * What a started cloud tells: the answer of `CloudServer.start()` (printed by `fogline cloud`). What
 * it leaves in its data dir for the CLI (`cloud.json`) is state-file.ts.
 */
import type { AdminToken } from './auth/admin-token.ts';

export interface CloudReady {
  http: { port: number; host: string; url: string };
  /** Cloud broker: bound MQTT/TCP port (null: none) and its URL; MQTT over WebSocket at `wsUrl`. */
  mqtt: { port: number | null; url: string | null; wsUrl: string };
  adminToken: AdminToken;
  auth: boolean;
  models: string[];
  /** The dashboard's URL, the playground's (null without --demo), and whether the pages are built. */
  web: { dashboard: string; playground: string | null; built: boolean };
}
