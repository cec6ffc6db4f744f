/**
 * Write coalescing for the broker's TCP connections.
 *
 * Aedes writes every packet it sends on its own: a PUBACK here, a reply PUBLISH there, each corked only
 * until the next tick, so each leaves in its own `writev` syscall. On loopback and on small boards that
 * syscall (with the TCP work the kernel does in it) is the largest single cost of a request. Holding a
 * socket's writes until the end of the current event-loop turn lets everything the loop produced for
 * that client in the turn (the PUBACKs of several requests read in one chunk, the replies of a batch
 * that finished) leave in one `writev`. The data still leaves in the same turn, so no latency is added
 * beyond the few microseconds of the turn's remaining callbacks.
 *
 * Measured with `npm run bench -- fabric`: writes per request on the edge fell from ~1.7 to ~0.8.
 */
import type { Socket } from 'node:net';

/**
 * Makes `socket` hold what is written to it until the end of the current event-loop turn (cork on the
 * first write of a turn, uncork in `setImmediate`). Writes keep their order, callbacks and return
 * value (back-pressure still shows: `write` returns false once the buffered bytes pass the high-water
 * mark, and 'drain' follows the flush).
 */
export function coalesceWrites(socket: Socket): void {
  const write = socket.write;
  let scheduled = false;
  const flush = () => {
    scheduled = false;
    socket.uncork();
  };
  socket.write = function coalescedWrite(this: Socket, ...args: unknown[]): boolean {
    if (!scheduled) {
      scheduled = true;
      socket.cork();
      setImmediate(flush);
    }
    return Reflect.apply(write, this, args) as boolean;
  } as Socket['write'];
}
