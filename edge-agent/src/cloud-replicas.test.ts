/**
 * The cloud's replicas as the edge calls them (cloud-replicas.ts), against real HTTP servers on
 * 127.0.0.1: a dead replica is skipped at once and its calls retried once on the next, its breaker
 * alone opens, the ready probe brings it back, a hung replica is left after one timeout, and failures
 * that are the request's own are not retried.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer as createTcpServer, type Socket } from 'node:net';
import { eventually } from '@fogline/cloud/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { CloudClient } from './cloud-client.ts';
import { CloudReplicas } from './cloud-replicas.ts';

interface Replica {
  url: string;
  /** Status of the next answers (200: metadata JSON naming this replica). */
  status: number;
  calls: number;
  close(): Promise<void>;
  /** Listens again on the same port. */
  restart(): Promise<void>;
}

const open: CloudReplicas[] = [];
const servers: Replica[] = [];
afterEach(async () => {
  for (const r of open.splice(0)) r.close();
  for (const s of servers.splice(0)) await s.close();
});

async function replica(name: string): Promise<Replica> {
  let server: Server;
  let port = 0;
  const state: Replica = {
    url: '',
    status: 200,
    calls: 0,
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async restart() {
      await listen();
    },
  };
  const listen = async () => {
    server = createServer((req, res) => {
      if (req.url === '/v2/health/ready') return void res.writeHead(200).end();
      state.calls++;
      res.writeHead(state.status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(state.status === 200 ? { name } : { error: `${name} failed` }));
    });
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', () => resolve()));
    port = (server.address() as AddressInfo).port;
  };
  await listen();
  state.url = `http://127.0.0.1:${port}`;
  servers.push(state);
  return state;
}

function replicasOf(...urls: string[]): CloudReplicas {
  const replicas = new CloudReplicas({
    clients: urls.map((baseUrl) => new CloudClient({ baseUrl, token: 't', edgeId: 'e1' })),
    breaker: { volumeThreshold: 100, resetTimeoutMs: 60_000 },
    probeIntervalMs: 50,
  });
  open.push(replicas);
  return replicas;
}

const whoAnswers = (replicas: CloudReplicas, canRetry?: () => boolean) =>
  replicas.fire((client) => client.metadata(2000), canRetry) as Promise<{ name: string }>;

describe('CloudReplicas', () => {
  it('goes to the next replica when the first dies, opens only its breaker, and comes back to it', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const replicas = replicasOf(a.url, b.url);
    expect(await whoAnswers(replicas)).toEqual({ name: 'a' });

    await a.close();
    // The call that meets the dead replica is answered by the next one, within the same call.
    expect(await whoAnswers(replicas)).toEqual({ name: 'b' });
    expect(replicas.replicas[0]!.breaker.state).toBe('open');
    expect(replicas.state).toBe('closed'); // the cloud as a whole still answers
    expect(replicas.activeUrl).toBe(b.url);
    expect(await whoAnswers(replicas)).toEqual({ name: 'b' });

    await a.restart();
    await eventually(() => replicas.activeUrl === a.url, 10_000);
    expect(await whoAnswers(replicas)).toEqual({ name: 'a' });
  });

  it('retries a replica failure (503) once on the next, and never a failure of the request itself', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const replicas = replicasOf(a.url, b.url);
    a.status = 503;
    expect(await whoAnswers(replicas)).toEqual({ name: 'b' });

    a.status = 504; // the request's own deadline ran out there: another replica would not help
    const before = b.calls;
    await expect(whoAnswers(replicas)).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    a.status = 400;
    await expect(whoAnswers(replicas)).rejects.toMatchObject({ code: 'INVALID_ARG' });
    expect(b.calls).toBe(before);

    a.status = 503; // no budget left for a second call: the failure stands
    await expect(whoAnswers(replicas, () => false)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(b.calls).toBe(before);
  });

  it('is open, and refuses at once, only when every replica is down', async () => {
    const a = await replica('a');
    const b = await replica('b');
    const replicas = replicasOf(a.url, b.url);
    await a.close();
    await b.close();
    await expect(whoAnswers(replicas)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(replicas.state).toBe('open');
    await expect(whoAnswers(replicas)).rejects.toMatchObject({ details: { refused: true } });
  });

  it('leaves a replica that takes connections but never answers (hung, its host gone) after one timeout', async () => {
    // Nothing refuses or resets: every call there only times out, and one outside the breakers (audits,
    // reports, model files) would go there again and again while the next replica is fine.
    const sockets: Socket[] = [];
    const silent = createTcpServer((socket) => sockets.push(socket));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
    const hung = `http://127.0.0.1:${(silent.address() as AddressInfo).port}`;
    servers.push({
      url: hung,
      status: 0,
      calls: 0,
      close: async () => {
        for (const socket of sockets) socket.destroy();
        await new Promise<void>((resolve) => silent.close(() => resolve()));
      },
      restart: async () => {},
    });
    const b = await replica('b');
    const replicas = replicasOf(hung, b.url);
    const upload = () => replicas.call((client) => client.metadata(200)) as Promise<{ name: string }>;

    await expect(upload()).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
    await eventually(() => replicas.activeUrl === b.url, 5_000);
    expect(await upload()).toEqual({ name: 'b' });
    expect(replicas.replicas[0]!.breaker.state).toBe('open');
  });
});
