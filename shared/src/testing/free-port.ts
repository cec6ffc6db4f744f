/**
 * A TCP port of 127.0.0.1 that nothing listens on now: for a test that starts a server there later,
 * or stops and starts one again on the same port (a client configured before the server exists). Another process
 * could take it meanwhile; on a test machine that is rare enough.
 */
import { createServer } from 'node:net';

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
