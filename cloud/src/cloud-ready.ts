/**
 * What a started cloud tells: the answer of `CloudServer.start()` (printed by `fogline cloud`), and
 * `<dataDir>/cloud.json`, which lets `fogline keys` and the other commands find the running server.
 */
import type { AdminToken } from './auth/admin-token.ts';

export const CLOUD_STATE_FILE = 'cloud.json';

/** What `<dataDir>/cloud.json` holds, so that `fogline keys` finds the running server. */
export interface CloudState {
  url: string;
  httpPort: number;
  mqttPort: number | null;
  pid: number;
}

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
