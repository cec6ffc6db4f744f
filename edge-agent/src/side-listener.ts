/**
 * The edge's small HTTP side listeners (`/metrics`, metrics-endpoint.ts; the device files,
 * device-models/device-file-server.ts): bind with one clear error, and close dropping kept-alive
 * connections so a stop never waits for an idle client.
 */
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { FoglineError } from '@fogline/shared';

export interface SideListener {
  readonly port: number;
  readonly host: string;
  close(): Promise<void>;
}

/** Listens on `host:port` (0 = a free port); UNAVAILABLE naming `what` when it cannot. */
export async function listenSide(
  server: Server,
  host: string,
  port: number,
  what: string,
): Promise<SideListener> {
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(
        new FoglineError('UNAVAILABLE', `cannot serve ${what} on ${host}:${port}: ${err.message}`, {
          cause: err,
        }),
      ),
    );
    server.listen(port, host, resolve);
  });
  return {
    port: (server.address() as AddressInfo).port,
    host,
    close: () =>
      new Promise((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
