/**
 * The edge's policy channel from the device's side, over real sockets: a real fogline broker (Aedes),
 * the policy published retained on it as the edge agent does, a hand-written edge responder, and the
 * committed digits-tiny model. Plus a broker of before F7 that refuses the policy subscription.
 */
import { createServer, type Server } from 'node:net';
import { encodePolicyMessage, type PolicyMessage, topics } from '@fogline/shared';
import { createBroker, type FoglineBroker } from '@fogline/shared/broker';
import { loadDigits } from '@fogline/shared/digits';
import { Aedes } from 'aedes';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { Device } from './device.ts';
import type { ConnectDeviceOptions } from './device-options.ts';
import type { PolicyEvent } from './device-policy.ts';
import { connectDevice } from './index.ts';
import { type EdgeResponder, startEdgeResponder } from './testing/edge-responder.ts';

const digits = loadDigits('test');
const image = (i: number) => digits.images.slice(i * 784, (i + 1) * 784);
const ALWAYS_LOCAL = { score: 'maxprob', threshold: 0 } as const;
const ALWAYS_ESCALATE = { score: 'maxprob', threshold: 1.01 } as const;

let broker: FoglineBroker | undefined;
let url: string;
let responder: EdgeResponder | undefined;
const devices: Device[] = [];
let version = 100;

const message = (over: Partial<PolicyMessage> = {}): PolicyMessage => ({
  edge: 'edge-a',
  version: ++version,
  model: 'digits-tiny:1',
  policy: ALWAYS_ESCALATE,
  ...over,
});
const publish = (payload: Uint8Array | string) =>
  broker!.publish(topics.policy('edge-a'), payload, { retain: true });

async function device(options: Partial<ConnectDeviceOptions> = {}) {
  const events: PolicyEvent[] = [];
  const states: string[] = [];
  const d = await connectDevice({
    broker: url,
    deviceId: 'dev-1',
    token: 'tok-1',
    edgeId: 'edge-a',
    policy: ALWAYS_LOCAL,
    onPolicy: (e) => events.push(e),
    onStateChange: (s) => states.push(s),
    ...options,
  });
  devices.push(d);
  return { d, events, states };
}

const waitFor = async (predicate: () => boolean, what: string, timeoutMs = 1_000) => {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
};

beforeEach(async () => {
  broker = await createBroker({
    mqttPort: 0,
    resolveIdentity: async (clientId, token) => {
      if (clientId === 'agent-a' && token === 'tok-agent')
        return { kind: 'service', id: clientId, edgeId: 'edge-a' };
      return token === 'tok-1' ? { kind: 'device', id: clientId, edgeId: 'edge-a' } : null;
    },
  });
  url = `mqtt://127.0.0.1:${(await broker.listen()).mqttPort}`;
  responder = await startEdgeResponder({ url, edgeId: 'edge-a', clientId: 'agent-a', token: 'tok-agent' });
});

afterEach(async () => {
  await Promise.all(devices.splice(0).map((d) => d.close()));
  await responder?.close();
  await broker?.close();
});

describe('policy from the edge', () => {
  it('applies a published policy to the next inference within a second, without reconnecting', async () => {
    const { d, events, states } = await device();
    expect(d.policy).toMatchObject({ ...ALWAYS_LOCAL, source: 'option' });
    expect((await d.infer(image(0))).tier).toBe('device');

    const sent = message();
    await publish(encodePolicyMessage(sent));
    await waitFor(() => d.policy.source === 'edge', 'the policy to arrive');
    expect(d.policy).toEqual({ ...ALWAYS_ESCALATE, source: 'edge', edgeVersion: sent.version });
    expect(events).toEqual([
      { kind: 'applied', policy: d.policy, previous: { ...ALWAYS_LOCAL, source: 'option' } },
    ]);
    const escalated = await d.infer(image(0), { deadlineMs: 2_000 });
    expect(escalated).toMatchObject({ tier: 'edge', degraded: false });
    expect(responder!.received).toHaveLength(1);

    // And back: the edge's threshold 0 keeps every answer on the device.
    await publish(encodePolicyMessage(message({ policy: ALWAYS_LOCAL, audit_rate: 0.05 })));
    await waitFor(() => d.policy.threshold === 0, 'the second policy');
    expect(d.policy.auditRate).toBe(0.05);
    expect((await d.infer(image(1))).tier).toBe('device');
    // A message without an audit rate keeps the one in effect.
    await publish(encodePolicyMessage(message({ policy: { score: 'maxprob', threshold: 0.01 } })));
    await waitFor(() => d.policy.threshold === 0.01, 'the third policy');
    expect(d.policy.auditRate).toBe(0.05);
    expect(states).toEqual(['online']);
    expect(d.stats()).toMatchObject({ local: 2, escalated: 1 });
  });

  it('takes an audit rate sent alone and keeps its own routing (a drift alarm on an edge that sent no policy)', async () => {
    const { d, events } = await device();
    const { policy: _policy, ...rateOnly } = message({ audit_rate: 0.2 });
    await publish(encodePolicyMessage(rateOnly));
    await waitFor(() => d.policy.auditRate === 0.2, 'the audit rate');
    expect(d.policy).toEqual({
      ...ALWAYS_LOCAL,
      source: 'option',
      edgeVersion: rateOnly.version,
      auditRate: 0.2,
    });
    expect(events).toMatchObject([{ kind: 'applied', previous: { ...ALWAYS_LOCAL, source: 'option' } }]);
    expect((await d.infer(image(0))).tier).toBe('device');
    // A policy from the edge later still replaces the routing, and an older message is still refused.
    const sent = message();
    await publish(encodePolicyMessage(sent));
    await waitFor(() => d.policy.source === 'edge', 'the policy');
    expect(d.policy).toEqual({
      ...ALWAYS_ESCALATE,
      source: 'edge',
      edgeVersion: sent.version,
      auditRate: 0.2,
    });
  });

  it('receives the retained policy at connect, with the source it came from', async () => {
    const sent = message({ policy: { score: 'margin', threshold: 0.5 } });
    await publish(encodePolicyMessage(sent));
    const { d } = await device({ policy: undefined });
    await waitFor(() => d.policy.source === 'edge', 'the retained policy');
    expect(d.policy).toEqual({ score: 'margin', threshold: 0.5, source: 'edge', edgeVersion: sent.version });
  });

  it('refuses malformed, out-of-range, other-edge, other-model and older messages; the policy stays', async () => {
    const { d, events } = await device();
    const current = message({ policy: { score: 'entropy', threshold: 0.6 } });
    await publish(encodePolicyMessage(current));
    await waitFor(() => d.policy.edgeVersion === current.version, 'the first policy');
    const json = (m: object) => JSON.stringify(m);
    const bad: Array<[string, string]> = [
      ['{"edge":', 'malformed'],
      [json({ ...message(), policy: { score: 'maxprob', threshold: 1.5 } }), 'out-of-range'],
      [json({ ...message(), policy: { score: 'logit', threshold: 0.5 } }), 'out-of-range'],
      [json(message({ edge: 'edge-b' })), 'other-edge'],
      [json(message({ model: 'digits-tiny:2' })), 'other-model'],
      [json({ ...message(), version: current.version - 1 }), 'not-newer'],
    ];
    for (const [payload] of bad) await publish(payload);
    await waitFor(() => events.length === 1 + bad.length, 'every refusal');
    expect(events.slice(1).map((e) => (e.kind === 'refused' ? e.code : e.kind))).toEqual(
      bad.map(([, c]) => c),
    );
    for (const e of events.slice(1)) expect(e.kind === 'refused' && e.reason.length > 0).toBe(true);
    expect(d.policy).toEqual({
      score: 'entropy',
      threshold: 0.6,
      source: 'edge',
      edgeVersion: current.version,
    });
    expect(d.state).toBe('online');
  });

  it('keeps a pinned policy, refusing the edge messages with code "pinned"', async () => {
    const { d, events } = await device({ pinPolicy: true });
    await publish(encodePolicyMessage(message()));
    await waitFor(() => events.length === 1, 'the refusal');
    expect(events[0]).toMatchObject({ kind: 'refused', code: 'pinned' });
    expect(d.policy).toMatchObject({ ...ALWAYS_LOCAL, source: 'option' });
    expect((await d.infer(image(0))).tier).toBe('device');
  });
});

describe('an edge broker of before F7 (refuses the policy subscription)', () => {
  let server: Server;
  let old: Aedes;

  afterEach(async () => {
    await new Promise<void>((r) => old.close(() => r()));
    await new Promise<void>((r) => server.close(() => r()));
  });

  it('keeps the device online with its own policy, silently', async () => {
    old = await Aedes.createBroker({
      authorizeSubscribe: (_client, sub, callback) =>
        callback(null, sub.topic === topics.reply('dev-1') ? sub : null),
    });
    server = createServer(old.handle);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const port = (server.address() as { port: number }).port;
    const { d, events, states } = await device({ broker: `mqtt://127.0.0.1:${port}`, token: undefined });
    await new Promise((r) => setTimeout(r, 100));
    expect(d.state).toBe('online');
    expect(states).toEqual(['online']);
    expect(events).toEqual([]);
    expect(d.policy).toMatchObject({ ...ALWAYS_LOCAL, source: 'option' });
    expect((await d.infer(image(0))).tier).toBe('device');
  });
});
