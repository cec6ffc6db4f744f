/**
 * An `offline.onAnswer` that throws, end to end: a real broker (Aedes) on 127.0.0.1, the hand-written
 * edge responder, digits-tiny on onnxruntime-node and the durable queue's files on disk. Answers and
 * expiries of requests stored before a restart reach an onAnswer that throws (from an MQTT message,
 * from the expiry timer): the device neither crashes nor loses the other answers, and each throw is
 * counted (`stats().store.callbackErrors`) and told as `callbackError`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { loadDigits } from '@fogline/shared/digits';
import { freePort } from '@fogline/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import type { CallbackErrorEvent } from './device-events.ts';
import { connectDevice } from './index.ts';
import type { StoredAnswer } from './offline/stored-answer.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const ALWAYS_ESCALATE = { score: 'maxprob', threshold: 1 } as const;

let broker: FoglineBroker | undefined;
let responder: EdgeResponder | undefined;
let port: number;
let dir: string;
const devices: Device[] = [];

beforeEach(async () => {
  // A port nothing listens on until the test starts the broker there.
  port = await freePort();
  dir = join(mkdtempSync(join(tmpdir(), 'fogline-store-callbacks-')), 'queue');
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await responder?.close();
  await broker?.close();
  responder = undefined;
  broker = undefined;
  rmSync(join(dir, '..'), { recursive: true, force: true });
});

async function startEdge(): Promise<void> {
  broker = await createBroker({
    mqttPort: port,
    resolveIdentity: async (clientId, token) => {
      if (clientId === 'dev-1' && token === 'tok-1')
        return { kind: 'device', id: clientId, edgeId: 'edge-a' };
      if (clientId === 'agent-a' && token === 'tok-agent')
        return { kind: 'service', id: clientId, edgeId: 'edge-a' };
      return null;
    },
  });
  await broker.listen();
  const url = `mqtt://127.0.0.1:${port}`;
  responder = await startEdgeResponder({ url, edgeId: 'edge-a', clientId: 'agent-a', token: 'tok-agent' });
}

async function device(ttlMs: number, onAnswer?: (answer: StoredAnswer) => void): Promise<Device> {
  const d = await connectDevice({
    broker: `mqtt://127.0.0.1:${port}`,
    deviceId: 'dev-1',
    token: 'tok-1',
    edgeId: 'edge-a',
    policy: ALWAYS_ESCALATE,
    connectTimeoutMs: 2_000,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    offline: { store: 'file', dir, ttlMs, ...(onAnswer && { onAnswer }) },
  });
  devices.push(d);
  return d;
}

/** `count` requests stored by a device that cannot reach its edge, then closed: a restart's replay. */
async function storedBeforeRestart(count: number, ttlMs: number): Promise<void> {
  const before = await device(ttlMs);
  expect(before.state).not.toBe('online');
  const calls = Array.from({ length: count }, (_, i) => before.infer(image(i)).catch(() => {}));
  await waitFor(() => before.stats().store?.queued === count, 'requests stored');
  await before.close();
  await Promise.all(calls);
}

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 10_000) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

/** A device replaying the store whose onAnswer throws for the answers `throwsFor` picks. */
async function replaying(ttlMs: number, throwsFor: (answer: StoredAnswer, n: number) => boolean) {
  const answers: StoredAnswer[] = [];
  const told: CallbackErrorEvent[] = [];
  const d = await device(ttlMs, (answer) => {
    answers.push(answer);
    if (throwsFor(answer, answers.length)) throw new TypeError(`cannot save ${answer.requestId}`);
  });
  d.on('callbackError', (e) => told.push(e));
  return { d, answers, told };
}

describe('an offline.onAnswer that throws', () => {
  it('on an answer from the edge: counted, told, and the other answers still come; the device goes on', async () => {
    await storedBeforeRestart(3, 60_000);
    await startEdge();
    const { d, answers, told } = await replaying(60_000, (_, n) => n === 1);
    await waitFor(() => answers.length === 3, 'three answers');
    for (const a of answers) expect(a.result).toMatchObject({ tier: 'edge', label: responder!.label });
    expect(told).toEqual([
      {
        callback: 'offline.onAnswer',
        requestId: answers[0]!.requestId,
        error: expect.objectContaining({ code: 'INTERNAL', message: `cannot save ${answers[0]!.requestId}` }),
      },
    ]);
    expect(told[0]!.error.cause).toBeInstanceOf(TypeError);
    expect(d.stats().store).toMatchObject({ replayed: 3, answered: 3, callbackErrors: 1, queued: 0 });
    expect(d.state).toBe('online');
    expect(await d.infer(image(3))).toMatchObject({ tier: 'edge', degraded: false });
  }, 30_000);

  it('on an expiry (the store timer): counted, told, and the other expiries still come', async () => {
    await storedBeforeRestart(2, 300);
    const { d, answers, told } = await replaying(60_000, () => true); // the edge stays down
    await waitFor(() => answers.length === 2, 'two expiries');
    expect(answers.map((a) => a.error?.code)).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
    expect(told.map((e) => e.requestId)).toEqual(answers.map((a) => a.requestId));
    expect(d.stats().store).toMatchObject({ replayed: 2, expired: 2, callbackErrors: 2, queued: 0 });
  }, 30_000);
});
