/**
 * One request followed across the tiers (docs/reliability.md "Tracing a request"): a real cloud
 * gateway and a real edge agent, both with `logRequests`, and a real SDK device (digits-tiny) that
 * asks its edge about everything; the edge escalates everything. The device's request id is in its
 * result, in the edge's log line and in the cloud's, with the same W3C trace id on both (the
 * caller's, when it gives one); an answer
 * degraded because the cloud is down, and the cloud's own error replies, carry it too.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import { eventually, makeModelRepo } from '@fogline/cloud/testing';
import { connectDevice } from '@fogline/device-sdk';
import { connectTestDevice, ESCALATE_ALL, startTestAgent } from '@fogline/edge-agent/testing';
import { encodeFabricRequest, topics } from '@fogline/shared';
import { loadDigits } from '@fogline/shared/digits';
import { afterAll, describe, expect, it } from 'vitest';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const device = { id: 'dev-trace', token: 'tok-trace' };
const raw = { id: 'dev-raw', token: 'tok-raw' };

const cleanups: (() => Promise<unknown>)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup().catch(() => {});
});

/** The trace id in a log line (`trace <32 hex>`). */
const traceOf = (line: string | undefined) => /trace ([0-9a-f]{32})/.exec(line ?? '')?.[1];

describe('a request traceable across tiers', { timeout: 180_000 }, () => {
  it('the device result, the edge log line and the cloud log line carry the same request id; a degraded answer and cloud errors too', async () => {
    const dataDir = await mkdtemp(join(tmpdir(), 'fogline-trace-cloud-'));
    const modelsDir = makeModelRepo(['digits-large']);
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }));
    cleanups.push(() => rm(modelsDir, { recursive: true, force: true }));
    const cloudLines: string[] = [];
    const cloud = new CloudServer(
      {
        httpPort: 0,
        host: '127.0.0.1',
        mqttPort: null,
        dataDir,
        modelsDir,
        auth: false,
        serving: { workers: 1, intraOpThreads: 1 },
        logRequests: true,
      },
      () => {},
      (line) => cloudLines.push(line),
    );
    await cloud.start();
    cleanups.push(() => cloud.stop());

    const edgeLines: string[] = [];
    const edge = await startTestAgent({
      devices: [device, raw],
      cloudUrl: cloud.url,
      deviceListPollMs: 0,
      ...ESCALATE_ALL,
      breaker: { volumeThreshold: 100, consecutiveFailures: 100, resetTimeoutMs: 300 },
      lateCorrectionsMaxBytes: 0,
      logger: { info: (line) => edgeLines.push(line), warn: (line) => edgeLines.push(`warning: ${line}`) },
      logRequests: true,
    });
    cleanups.push(() => edge.stop());
    const dev = await connectDevice({
      broker: edge.url,
      deviceId: device.id,
      token: device.token,
      edgeId: edge.info.edgeId,
      runtime: 'node',
      policy: { score: 'margin', threshold: 1 }, // a margin never reaches 1: the device asks its edge
    });
    cleanups.push(() => dev.close());

    // Escalated to the cloud: one id in all three places, one trace id on edge and cloud.
    const result = await dev.infer(image(0), { deadlineMs: 10_000 });
    expect(result).toMatchObject({ tier: 'cloud', degraded: false });
    const id = result.requestId;
    const quoted = JSON.stringify(id);
    await eventually(() => cloudLines.some((l) => l.includes(quoted)), 10_000);
    const edgeLine = edgeLines.find((l) => l.includes(`request ${quoted} `));
    const cloudLine = cloudLines.find((l) => l.includes(`request ${quoted} `));
    expect(edgeLine).toMatch(
      new RegExp(`^request ${quoted} device dev-trace trace [0-9a-f]{32}: cloud in \\d+ ms$`),
    );
    expect(cloudLine).toMatch(
      new RegExp(`^infer digits-large request ${quoted} trace [0-9a-f]{32}: 200 in \\d+ ms$`),
    );
    expect(traceOf(cloudLine)).toBe(traceOf(edgeLine));
    console.log(`example lines:\n  device: requestId ${id}\n  edge:   ${edgeLine}\n  cloud:  ${cloudLine}`);

    // The caller's own trace: the edge and the cloud log its trace id.
    const traceparent = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const traced = await dev.infer(image(2), { deadlineMs: 10_000, traceparent });
    expect(traced).toMatchObject({ tier: 'cloud', degraded: false });
    const tracedId = JSON.stringify(traced.requestId);
    await eventually(() => cloudLines.some((l) => l.includes(`request ${tracedId} `)), 10_000);
    expect(traceOf(edgeLines.find((l) => l.includes(`request ${tracedId} `)))).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    expect(traceOf(cloudLines.find((l) => l.includes(`request ${tracedId} `)))).toBe(
      '4bf92f3577b34da6a3ce929d0e0e4736',
    );
    await expect(dev.infer(image(2), { traceparent: 'not-a-trace' })).rejects.toMatchObject({
      code: 'INVALID_ARG',
    });

    // The cloud's own error reply to an HTTP caller: the OIP id in the body and in its log line,
    // with the caller's traceparent.
    const bad = await fetch(`${cloud.url}/v2/models/digits-large/infer`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', traceparent },
      body: JSON.stringify({
        id: 'http-7',
        inputs: [{ name: 'x', datatype: 'FP32', shape: [1], data: [0] }],
      }),
    });
    expect(bad.status).toBe(400);
    expect(await bad.json()).toMatchObject({ id: 'http-7', error: expect.any(String) });
    const errorLine = cloudLines.find((l) => l.includes('request "http-7"'));
    expect(errorLine).toMatch(
      /^infer digits-large request "http-7" trace 4bf92f3577b34da6a3ce929d0e0e4736: 400 INVALID_ARG: .+ in \d+ ms$/,
    );

    // An error reply from the edge (a request with a broken traceparent): its id, logged.
    const rawDevice = await connectTestDevice({
      url: edge.url,
      deviceId: raw.id,
      edgeId: edge.info.edgeId,
      token: raw.token,
    });
    cleanups.push(() => rawDevice.close());
    await rawDevice.publishRaw(
      encodeFabricRequest({
        id: 'raw-1',
        replyTo: topics.reply(raw.id),
        deadlineMs: 5000,
        deviceScore: 0,
        input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: image(3) },
        traceparent: 'not-a-trace',
      }),
    );
    const refused = await rawDevice.reply('raw-1', 20_000);
    expect(refused.decoded).toMatchObject({ kind: 'error', header: { id: 'raw-1' } });
    await eventually(() => edgeLines.some((l) => l.startsWith('request "raw-1"')), 10_000);
    expect(edgeLines.find((l) => l.startsWith('request "raw-1"'))).toMatch(
      /^request "raw-1": error INVALID_ARG: parameters\.traceparent must be a W3C traceparent/,
    );

    // The cloud down: the device's degraded answer and the edge's log line carry the id and why.
    await cloud.stop();
    const degraded = await dev.infer(image(1), { deadlineMs: 10_000 });
    expect(degraded).toMatchObject({ tier: 'edge', degraded: true, fallback: { code: 'UNAVAILABLE' } });
    const down = JSON.stringify(degraded.requestId);
    await eventually(() => edgeLines.some((l) => l.includes(`request ${down} `)), 10_000);
    expect(edgeLines.find((l) => l.includes(`request ${down} `))).toMatch(
      new RegExp(
        `^request ${down} device dev-trace trace [0-9a-f]{32}: edge degraded UNAVAILABLE: .+ in \\d+ ms$`,
      ),
    );
  });
});
