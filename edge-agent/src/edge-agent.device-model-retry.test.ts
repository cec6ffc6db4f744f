/**
 * The edge agent's `deviceModelRetry` option reaches its device model downloads: a real agent (its
 * embedded broker and device file listener on 127.0.0.1) fetches a device model from a real
 * node:http server standing in for the cloud's model store, which answers 503 three times, then the
 * file. Every retry waits within the option's ceiling (20 ms here; the default would be up to 1 s,
 * 2 s, 4 s), and the file ends up served.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { ModelFile } from '@fogline/shared';
import { fileAnswer } from '@fogline/shared/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { type AgentFixture, startTestAgent } from './testing/agent-fixture.ts';

const bytes = new Uint8Array(2048).map((_, i) => i % 249);
const sha256 = createHash('sha256').update(bytes).digest('hex');
const file: ModelFile = { model: 'digits-tiny', version: 2, sha256, bytes: bytes.length };

let server: Server | undefined;
let fixture: AgentFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  server?.closeAllConnections();
  server?.close();
});

/** The model store: the first `failures` file requests get a 503; every other route a 404. */
async function store(failures: number): Promise<{ url: string; asked: () => number }> {
  let asked = 0;
  server = createServer((req, res) => {
    if (req.url !== '/v2/fogline/models/digits-tiny/versions/2/file') return res.writeHead(404).end();
    if (asked++ < failures) return res.writeHead(503).end();
    const answer = fileAnswer(req, bytes, `"${sha256}"`);
    res.writeHead(answer.status, answer.headers).end(answer.body);
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, asked: () => asked };
}

describe('the edge agent option deviceModelRetry', () => {
  it('sets the waits between the tries of a device model download', async () => {
    const cloud = await store(3);
    const warnings: string[] = [];
    fixture = await startTestAgent({
      cloudUrl: cloud.url,
      model: 'digits-mid',
      deviceFiles: { port: 0, host: '127.0.0.1' },
      deviceModelRetry: { initialDelayMs: 20, maxDelayMs: 20 },
      logger: { info: () => {}, warn: (m) => warnings.push(m) },
    });
    const { agent } = fixture;
    await expect(agent.serveDeviceModel(file)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    await vi.waitFor(() => expect(agent.deviceModel()?.current).toEqual(file), { timeout: 5000 });
    expect(cloud.asked()).toBe(4);
    expect(agent.deviceModel()).toEqual({ current: file, retries: 3 });
    const waits = warnings.flatMap((w) => /^device model: .*; retry \d+ in (\d+) ms$/.exec(w)?.[1] ?? []);
    expect(waits).toHaveLength(3);
    for (const wait of waits) expect(Number(wait)).toBeLessThanOrEqual(20);
  });
});
