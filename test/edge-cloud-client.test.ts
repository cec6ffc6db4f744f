import { connect, createServer, type Server, type Socket } from 'node:net';
import { CloudClient } from '@fogline/edge-agent';
import { testDigits } from '@fogline/edge-agent/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type CloudFixture, startCloud } from './support/cloud.ts';

let cloud: CloudFixture;
const { images, labels } = testDigits(4);
const tensor = (i: number) => ({
  name: 'image',
  datatype: 'FP32' as const,
  shape: [1, 1, 28, 28],
  data: images[i]!,
});

/** A TCP relay in front of the cloud that counts the connections it carries. */
async function countingRelay(
  target: URL,
): Promise<{ url: string; connections: () => number; close(): Promise<void> }> {
  let count = 0;
  const sockets = new Set<Socket>();
  const server = createServer((inbound) => {
    count++;
    const outbound = connect(Number(target.port), target.hostname);
    inbound.pipe(outbound).pipe(inbound);
    for (const s of [inbound, outbound]) {
      sockets.add(s);
      s.on('error', () => {});
      s.on('close', () => sockets.delete(s));
    }
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    connections: () => count,
    close: () =>
      new Promise<void>((r) => {
        for (const s of sockets) s.destroy();
        server.close(() => r());
      }),
  };
}

async function listenSilent(): Promise<{ server: Server; url: string }> {
  // Accepts connections and never answers: a cloud that hangs.
  const server = createServer(() => {});
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return { server, url: `http://127.0.0.1:${(server.address() as { port: number }).port}` };
}

beforeAll(async () => {
  cloud = await startCloud();
});
afterAll(async () => {
  await cloud?.stop();
});

describe('CloudClient', () => {
  it('gets the large model logits for an image over OIP binary, reusing one keep-alive connection', async () => {
    const relay = await countingRelay(new URL(cloud.url));
    const client = new CloudClient({ baseUrl: relay.url, token: 'edge-token' });
    try {
      for (let i = 0; i < 4; i++) {
        const answer = await client.infer(`r${i}`, [tensor(i)], 5000);
        expect(answer.modelName).toBe('digits-large');
        const logits = answer.outputs.find((o) => o.name === 'logits');
        expect(logits?.shape).toEqual([1, 10]);
        const data = logits!.data as Float32Array;
        expect(data.indexOf(Math.max(...data))).toBe(labels[i]);
      }
      expect(relay.connections()).toBe(1);
    } finally {
      client.close();
      await relay.close();
    }
  });

  it('maps the cloud OIP error for an unknown model to NOT_FOUND', async () => {
    const client = new CloudClient({ baseUrl: cloud.url, token: 't', model: 'no-such-model' });
    try {
      await expect(client.infer('x', [tensor(0)], 5000)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    } finally {
      client.close();
    }
  });

  it('gives up with DEADLINE_EXCEEDED when the budget runs out, and UNAVAILABLE when nothing listens', async () => {
    const silent = await listenSilent();
    const hanging = new CloudClient({ baseUrl: silent.url, token: 't' });
    const down = new CloudClient({ baseUrl: 'http://127.0.0.1:1', token: 't' });
    try {
      await expect(hanging.infer('x', [tensor(0)], 100)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
      await expect(down.infer('x', [tensor(0)], 1000)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
      await expect(down.infer('x', [tensor(0)], 0)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    } finally {
      hanging.close();
      down.close();
      silent.server.close();
    }
  });
});
