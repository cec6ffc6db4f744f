import { once } from 'node:events';
import { type AddressInfo, connect, createServer, type Server, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { coalesceWrites } from './write-coalescing.ts';

interface Pair {
  server: Server;
  /** The broker's end (the one that writes). */
  sender: Socket;
  /** The client's end: collects what arrives. */
  received: () => string;
  /** Syscall-level flushes of the sender: one entry per `_write`/`_writev`, with its chunk count. */
  flushes: number[];
}

const open: Pair[] = [];

async function pair(coalesce: boolean): Promise<Pair> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const client = connect((server.address() as AddressInfo).port, '127.0.0.1');
  const [sender] = (await once(server, 'connection')) as [Socket];
  sender.setNoDelay(true);
  const flushes: number[] = [];
  // Count what reaches the handle: one `_write` or `_writev` is one write syscall.
  const internals = sender as unknown as {
    _write: (...a: unknown[]) => void;
    _writev: (chunks: unknown[], cb: unknown) => void;
  };
  const single = internals._write;
  const vector = internals._writev;
  internals._write = function (this: Socket, ...a: unknown[]) {
    flushes.push(1);
    return single.apply(this, a);
  };
  internals._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    flushes.push(chunks.length);
    return vector.call(this, chunks, cb);
  };
  if (coalesce) coalesceWrites(sender);
  let text = '';
  client.on('data', (chunk: Buffer) => {
    text += chunk.toString();
  });
  const p: Pair = { server, sender, received: () => text, flushes };
  open.push(p);
  return p;
}

async function until(condition: () => boolean): Promise<void> {
  for (let i = 0; i < 200 && !condition(); i++) await new Promise((r) => setTimeout(r, 5));
  expect(condition()).toBe(true);
}

afterEach(async () => {
  for (const p of open.splice(0)) {
    p.sender.destroy();
    p.server.close();
  }
});

describe('coalesceWrites', () => {
  it('sends everything written in one event-loop turn in one writev, in order', async () => {
    const p = await pair(true);
    const done: string[] = [];
    p.sender.write('a', () => done.push('a'));
    p.sender.write('b', () => done.push('b'));
    p.sender.write('c', () => done.push('c'));
    expect(p.flushes).toEqual([]);
    await until(() => p.received() === 'abc');
    expect(p.flushes).toEqual([3]);
    await until(() => done.length === 3);
    expect(done).toEqual(['a', 'b', 'c']);
  });

  it('without it, the same writes leave one syscall each (the cost it removes)', async () => {
    const p = await pair(false);
    p.sender.write('a');
    p.sender.write('b');
    p.sender.write('c');
    await until(() => p.received() === 'abc');
    expect(p.flushes.length).toBeGreaterThan(1);
  });

  it('flushes each later turn too: nothing stays corked', async () => {
    const p = await pair(true);
    p.sender.write('1');
    await new Promise((r) => setImmediate(r));
    p.sender.write('2');
    p.sender.write('3');
    await new Promise((r) => setTimeout(r, 1));
    p.sender.write('4');
    await until(() => p.received() === '1234');
    // Usually [1, 2, 1]: one flush per turn. On a busy host a write still in flight makes the stream
    // buffer the next turn's writes, which then leave together ([1, 3]); never one flush per write.
    expect(p.flushes.reduce((a, b) => a + b, 0)).toBe(4);
    expect(p.flushes.length).toBeLessThanOrEqual(3);
    expect(p.flushes[0]).toBe(1);
    expect(p.sender.writableCorked).toBe(0);
  });

  it('keeps back-pressure: write returns false past the high-water mark and drain follows the flush', async () => {
    const p = await pair(true);
    const big = 'x'.repeat(p.sender.writableHighWaterMark + 1);
    expect(p.sender.write(big)).toBe(false);
    await once(p.sender, 'drain');
    await until(() => p.received().length === big.length);
  });

  it('ending the socket flushes what is held', async () => {
    const p = await pair(true);
    p.sender.write('bye');
    p.sender.end();
    await until(() => p.received() === 'bye');
  });
});
