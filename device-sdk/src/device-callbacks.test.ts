/**
 * Application callbacks that throw, end to end (docs/device-sdk.md "Callbacks that throw"): a real
 * broker (Aedes) on 127.0.0.1, the hand-written edge responder, a real node:http server for a model
 * update and digits-tiny on onnxruntime-node. `onStateChange` (from the MQTT client's events),
 * `onPolicy`, and `model`, `modelError` and `correction` listeners (from MQTT messages and the update)
 * throw: the process does not crash (vitest fails a run on an uncaught exception), each throw is
 * counted (`stats().callbackErrors`) and told as `callbackError`, and the device goes on answering.
 * A `callbackError` listener that throws is counted, not told again.
 */
import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Correction,
  encodeCorrectionMessage,
  encodeDeviceModelManifest,
  encodePolicyMessage,
  FoglineError,
  topics,
} from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { loadDigits } from '@fogline/shared/digits';
import { fileAnswer, freePort } from '@fogline/shared/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import { resolveDeviceSettings } from './device-options.ts';
import type { CallbackErrorEvent, ConnectDeviceOptions } from './index.ts';
import { connectDevice, DEFAULT_MODEL_PATH } from './index.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const ALWAYS_LOCAL = { score: 'maxprob', threshold: 0 } as const;
const ALWAYS_ESCALATE = { score: 'maxprob', threshold: 1.01 } as const;

let broker: FoglineBroker | undefined;
let responder: EdgeResponder | undefined;
let files: Server | undefined;
let port: number;
let modelDir: string;
const devices: Device[] = [];

beforeEach(async () => {
  // A port nothing listens on until the test starts the broker there (it is restarted on it).
  port = await freePort();
  await startEdge();
  modelDir = mkdtempSync(join(tmpdir(), 'fogline-device-callbacks-'));
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await stopEdge();
  files?.closeAllConnections();
  files?.close();
  files = undefined;
  rmSync(modelDir, { recursive: true, force: true });
});

async function startEdge(): Promise<void> {
  broker = await createBroker({
    mqttPort: port,
    resolveIdentity: async (clientId, token) => {
      if (clientId === 'agent-a' && token === 'tok-agent')
        return { kind: 'service', id: clientId, edgeId: 'edge-a' };
      return token === 'tok-1' ? { kind: 'device', id: clientId, edgeId: 'edge-a' } : null;
    },
  });
  await broker.listen();
  const url = `mqtt://127.0.0.1:${port}`;
  responder = await startEdgeResponder({ url, edgeId: 'edge-a', clientId: 'agent-a', token: 'tok-agent' });
}

async function stopEdge(): Promise<void> {
  await responder?.close();
  await broker?.close();
  responder = undefined;
  broker = undefined;
}

/** A device whose `callbackError` events are in `told`. */
async function device(options: Partial<ConnectDeviceOptions> = {}) {
  const d = await connectDevice({
    broker: `mqtt://127.0.0.1:${port}`,
    deviceId: 'dev-1',
    token: 'tok-1',
    edgeId: 'edge-a',
    policy: ALWAYS_ESCALATE,
    reconnect: { initialDelayMs: 50, maxDelayMs: 200 },
    modelDir,
    ...options,
  });
  devices.push(d);
  const told: CallbackErrorEvent[] = [];
  d.on('callbackError', (e) => told.push(e));
  return { d, told };
}

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 10_000) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
};

const thrown = (message: string) =>
  expect.objectContaining({ code: 'INTERNAL', message, cause: expect.any(TypeError) });

describe('an application callback that throws', () => {
  it('onStateChange, on every change: told each time; the device still reconnects and answers', async () => {
    const states: string[] = [];
    const { d, told } = await device({
      onStateChange: (state) => {
        states.push(state);
        throw new TypeError(`cannot show ${state}`);
      },
    });
    expect(d.state).toBe('online');
    // Before connectDevice resolves no listener can be there yet: counted only.
    expect(states).toEqual(['online']);
    expect(d.stats().callbackErrors).toBe(1);
    expect(await d.infer(image(0))).toMatchObject({ tier: 'edge', degraded: false });

    await stopEdge(); // from the MQTT client's close event: offline, then connecting
    await waitFor(() => states.includes('offline'), 'offline');
    await startEdge();
    const online = () => states.filter((s) => s === 'online').length;
    await waitFor(() => d.state === 'online' && online() === 2, 'online again');
    const later = states.slice(1);
    expect(later).toContain('offline');
    expect(told).toEqual(
      later.map((s) => ({ callback: 'onStateChange', error: thrown(`cannot show ${s}`) })),
    );
    expect(d.stats().callbackErrors).toBe(states.length);
    expect(await d.infer(image(1))).toMatchObject({ tier: 'edge', degraded: false });
  }, 30_000);

  it('onPolicy (from the policy message): told as is when a FoglineError; the policy is applied all the same', async () => {
    const failure = new FoglineError('UNAVAILABLE', 'dashboard down');
    const { d, told } = await device({
      policy: ALWAYS_LOCAL,
      onPolicy: () => {
        throw failure;
      },
    });
    const message = { edge: 'edge-a', version: 7, model: 'digits-tiny:1', policy: ALWAYS_ESCALATE };
    await broker!.publish(topics.policy('edge-a'), encodePolicyMessage(message), { retain: true });
    await waitFor(() => d.policy.source === 'edge', 'the edge policy');
    expect(told).toEqual([{ callback: 'onPolicy', error: failure }]);
    expect(d.stats().callbackErrors).toBe(1);
    expect(await d.infer(image(0))).toMatchObject({ tier: 'edge', degraded: false });
  }, 30_000);

  it("device.on('modelError') and ('model') listeners: told; the update is taken and the new model answers", async () => {
    const tiny = readFileSync(DEFAULT_MODEL_PATH);
    const sha256 = createHash('sha256').update(tiny).digest('hex');
    files = createServer((req, res) => {
      const { status, headers, body } = fileAnswer(req, tiny, `"${sha256}"`);
      res.writeHead(status, headers).end(body);
    });
    files.listen(0, '127.0.0.1');
    await once(files, 'listening');
    const { d, told } = await device({ policy: ALWAYS_LOCAL });
    d.on('modelError', (e) => {
      throw new TypeError(`cannot log ${e.error.code}`);
    });
    d.on('model', (e) => {
      throw new TypeError(`cannot log ${e.model}`);
    });
    const publish = (payload: Uint8Array | string) =>
      broker!.publish(topics.deviceModel('edge-a'), payload, { retain: true });

    await publish('{"edge":'); // refused: modelError
    await waitFor(() => told.length === 1, 'the modelError listener');
    const url = `http://127.0.0.1:${(files.address() as AddressInfo).port}/device-models/digits-tiny/2/model.onnx`;
    const manifest = { edge: 'edge-a', model: 'digits-tiny', version: 2, sha256, bytes: tiny.length, url };
    await publish(encodeDeviceModelManifest(manifest));
    await waitFor(() => told.length === 2, 'the model listener');
    expect(told).toEqual([
      { callback: 'modelError', error: thrown('cannot log INVALID_ARG') },
      { callback: 'model', error: thrown('cannot log digits-tiny:2') },
    ]);
    expect(d.model).toBe('digits-tiny:2');
    expect(d.stats().callbackErrors).toBe(2);
    expect(await d.infer(image(0))).toMatchObject({ tier: 'device', modelVersions: 'digits-tiny:2' });
  }, 30_000);

  it("a device.on('correction') listener: told with the request id; the other corrections and listeners still come", async () => {
    const { d, told } = await device();
    const got: string[] = [];
    d.on('correction', (c) => {
      if (c.requestId === 'r-1') throw new TypeError('cannot fix r-1');
    });
    d.on('correction', (c) => got.push(c.requestId));
    const logits = (top: number) => Array.from({ length: 10 }, (_, i) => (i === top ? 4 : 0));
    const correction = (requestId: string): Correction => ({
      requestId,
      time: Date.now() - 1_000,
      expires: Date.now() + 3_600_000,
      old: { tier: 'edge', model: 'digits-mid-int8:1', outputKind: 'logits', outputs: logits(3) },
      new: { tier: 'cloud', model: 'digits-large:1', outputKind: 'logits', outputs: logits(8) },
    });
    const message = encodeCorrectionMessage({
      device: 'dev-1',
      corrections: [correction('r-1'), correction('r-2')],
    });
    await broker!.publish(topics.correction('dev-1'), message, { retain: true });
    await waitFor(() => got.length === 2, 'both corrections');
    expect(got).toEqual(['r-1', 'r-2']);
    expect(told).toEqual([{ callback: 'correction', requestId: 'r-1', error: thrown('cannot fix r-1') }]);
    expect(d.stats()).toMatchObject({ callbackErrors: 1, corrections: { emitted: 2 } });
    expect(await d.infer(image(0))).toMatchObject({ tier: 'edge', degraded: false });
  }, 30_000);

  it('a callbackError listener that throws: counted, not told again (no loop); the other listeners get each error once', async () => {
    let calls = 0;
    const { d, told } = await device({
      onStateChange: (state) => {
        if (state === 'online') throw new TypeError('cannot show online');
      },
    });
    d.on('callbackError', () => {
      calls++;
      throw new TypeError('the error handler fails too');
    });
    const after: CallbackErrorEvent[] = [];
    d.on('callbackError', (e) => after.push(e));
    await stopEdge();
    await startEdge();
    await waitFor(() => after.length === 1 && d.state === 'online', 'online again');
    await new Promise((r) => setTimeout(r, 200)); // a loop would go on meanwhile
    expect(calls).toBe(1);
    expect(after).toEqual([{ callback: 'onStateChange', error: thrown('cannot show online') }]);
    expect(told).toHaveLength(1); // the first connection's came before any listener
    // The first connection's onStateChange error, this one's, and the listener's own.
    expect(d.stats().callbackErrors).toBe(3);
    expect(await d.infer(image(0))).toMatchObject({ tier: 'edge', degraded: false });
  }, 30_000);
});

describe('callbacks given to connectDevice', () => {
  it.each(['onStateChange', 'onPolicy'] as const)(
    '%s that is not a function: INVALID_ARG at connect',
    (name) => {
      const options = { broker: 'mqtt://127.0.0.1:1', deviceId: 'dev-1', edgeId: 'edge-a', [name]: 'log' };
      expect(() => resolveDeviceSettings(options as never)).toThrow(
        expect.objectContaining({
          code: 'INVALID_ARG',
          message: `connectDevice: ${name} must be a function, got "log"`,
        }),
      );
    },
  );

  it('a device.on listener that is not a function: INVALID_ARG when it is added', async () => {
    const { d } = await device();
    expect(() => d.on('model', 'log' as never)).toThrow(
      expect.objectContaining({
        code: 'INVALID_ARG',
        message: 'device.on("model"): the listener must be a function',
      }),
    );
  });
});
