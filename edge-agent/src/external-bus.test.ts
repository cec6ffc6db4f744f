/**
 * What the agent presents to an external broker: a real Aedes on a free port stands in for the
 * operator's Mosquitto, and records each CONNECT's credentials.
 */
import { createServer, type Server } from 'node:net';
import { Aedes } from 'aedes';
import { afterEach, describe, expect, it } from 'vitest';
import { startTestAgent } from './testing/agent-fixture.ts';

interface Login {
  clientId: string;
  username: string | undefined;
  password: string | undefined;
}

let broker: Aedes | undefined;
let server: Server | undefined;

async function recordingBroker(): Promise<{ url: string; logins: Login[] }> {
  const logins: Login[] = [];
  broker = await Aedes.createBroker({
    authenticate: (client, username, password, done) => {
      logins.push({ clientId: client.id, username, password: password?.toString() });
      done(null, true);
    },
  });
  const aedes = broker;
  server = createServer((socket) => aedes.handle(socket));
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as { port: number };
  return { url: `mqtt://127.0.0.1:${port}`, logins };
}

afterEach(async () => {
  await new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
  await new Promise<void>((resolve) => (broker ? broker.close(() => resolve()) : resolve()));
  server = undefined;
  broker = undefined;
});

describe('edge agent on an external broker: its credentials there', () => {
  it('logs in as the edge id with no password by default: the edge token never leaves for a local broker', async () => {
    const { url, logins } = await recordingBroker();
    const fixture = await startTestAgent({
      edgeId: 'edge-x',
      token: 'fge_secret',
      localBroker: { kind: 'external', url },
    });
    try {
      expect(logins).toEqual([{ clientId: 'edge-x', username: 'edge-x', password: undefined }]);
    } finally {
      await fixture.stop();
    }
  });

  it('uses the username and password it is given', async () => {
    const { url, logins } = await recordingBroker();
    const fixture = await startTestAgent({
      edgeId: 'edge-y',
      token: 'fge_secret',
      localBroker: { kind: 'external', url, username: 'fogline-edge', password: 'local-secret' },
    });
    try {
      expect(logins).toEqual([{ clientId: 'edge-y', username: 'fogline-edge', password: 'local-secret' }]);
    } finally {
      await fixture.stop();
    }
  });
});
