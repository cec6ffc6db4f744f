/**
 * Test support: a TCP proxy on 127.0.0.1 port 0 in front of a real server (PostgreSQL), which the
 * test can cut: every open connection destroyed and each new one closed as soon as it is accepted,
 * as a database that went away; `restore()` forwards again. Refusal by the proxy (not a closed port)
 * keeps its port, so the client's URL stays valid.
 */
import { createConnection, createServer, type Socket } from 'node:net';

export interface TcpCutter {
  readonly port: number;
  /** Connections accepted (forwarded or refused) so far. */
  readonly accepted: number;
  cut(): void;
  restore(): void;
  close(): Promise<void>;
}

export async function startTcpCutter(targetHost: string, targetPort: number): Promise<TcpCutter> {
  const open = new Set<Socket>();
  let cut = false;
  let accepted = 0;
  const track = (socket: Socket) => {
    open.add(socket);
    socket.on('error', () => {});
    socket.once('close', () => open.delete(socket));
  };
  const server = createServer((client) => {
    accepted++;
    if (cut) {
      client.destroy();
      return;
    }
    const upstream = createConnection({ host: targetHost, port: targetPort });
    track(client);
    track(upstream);
    client.pipe(upstream);
    upstream.pipe(client);
    client.once('close', () => upstream.destroy());
    upstream.once('close', () => client.destroy());
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as { port: number }).port,
    get accepted() {
      return accepted;
    },
    cut() {
      cut = true;
      for (const socket of open) socket.destroy();
    },
    restore() {
      cut = false;
    },
    async close() {
      for (const socket of open) socket.destroy();
      await new Promise((r) => server.close(r));
    },
  };
}
