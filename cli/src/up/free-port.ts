import { createServer } from 'node:net';

/** True when `port` can be bound on `host` right now (a probe: bind and close). */
export function isPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen({ port, host, exclusive: true }, () => server.close(() => resolve(true)));
  });
}

/** The preferred port when it is free, else 0 (the OS picks one); `moved` says which happened. */
export async function preferPort(preferred: number, host: string): Promise<{ port: number; moved: boolean }> {
  if (preferred === 0 || (await isPortFree(preferred, host))) return { port: preferred, moved: false };
  return { port: 0, moved: true };
}
