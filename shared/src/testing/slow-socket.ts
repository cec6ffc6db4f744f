/**
 * Test support for slow-client limits: a raw TCP socket that sends what the test says (or nothing),
 * and how long the server let it live.
 */
import { createConnection, type Socket } from 'node:net';

export interface SlowSocket {
  readonly socket: Socket;
  /** Milliseconds from connect to the server closing it (rejects after `withinMs`). */
  closedAfter(withinMs: number): Promise<number>;
}

export function openSlowSocket(port: number, host = '127.0.0.1'): Promise<SlowSocket> {
  return new Promise((resolve, reject) => {
    const socket = createConnection({ port, host });
    const start = performance.now();
    let closedAt: number | undefined;
    const waiters: (() => void)[] = [];
    socket.on('error', () => {}); // a reset is one way of being closed
    socket.on('data', () => {}); // whatever the server answers (e.g. 408) is read and dropped
    socket.once('close', () => {
      closedAt = performance.now();
      for (const w of waiters) w();
    });
    socket.once('connect', () => {
      socket.off('error', reject);
      resolve({
        socket,
        closedAfter: (withinMs) =>
          new Promise((done, fail) => {
            const report = () => done(Math.round((closedAt as number) - start));
            if (closedAt !== undefined) return report();
            const timer = setTimeout(() => {
              socket.destroy();
              fail(new Error(`socket still open after ${withinMs} ms`));
            }, withinMs);
            waiters.push(() => {
              clearTimeout(timer);
              report();
            });
          }),
      });
    });
    socket.once('error', reject);
  });
}
