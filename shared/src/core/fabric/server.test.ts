import { describe, expect, it } from 'vitest';
import { ManualClock } from '../clock.ts';
import { type ErrorCode, FoglineError } from '../errors.ts';
import type { Deadline } from './deadline.ts';
import { logitsOutput, readFabricReply } from './reply.ts';
import { encodeFabricRequest, type FabricRequest } from './request.ts';
import { FabricServer, type FabricServerOptions } from './server.ts';
import { topics } from './topics.ts';

const logits = Float32Array.from({ length: 10 }, (_, i) => (i === 3 ? 5 : 0));

function request(deviceId: string, id = 'r1', deadlineMs = 200): Uint8Array {
  return encodeFabricRequest({
    id,
    replyTo: topics.reply(deviceId),
    deadlineMs,
    deviceScore: 0.1,
    input: { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: new Float32Array(784) },
  });
}

/** A server whose tier answers with fixed logits (or with `answer`), recording what it publishes and counts. */
function serverWith(answer?: FabricServerOptions['answer']) {
  const clock = new ManualClock(1000);
  const published: { topic: string; payload: Uint8Array }[] = [];
  const errors: ErrorCode[] = [];
  const publishErrors: unknown[] = [];
  const served: { request: FabricRequest; remainingMs: number }[] = [];
  let dropped = 0;
  const duplicates: string[] = [];
  let publishFails = false;
  const servedAt: number[] = [];
  const server = new FabricServer({
    clock,
    defaultDeadlineMs: 1000,
    maxDeadlineMs: 5000,
    replyMarginMs: 5,
    publish: async (topic, payload) => {
      if (publishFails) throw new Error('broker closed');
      published.push({ topic, payload });
    },
    answer:
      answer ??
      (async (req: FabricRequest, deadline: Deadline) => {
        served.push({ request: req, remainingMs: deadline.remainingMs() });
        return {
          id: req.id,
          modelName: 'm',
          modelVersion: '1',
          outputs: [logitsOutput('logits', logits)],
          parameters: { tier: 'edge', degraded: false, score: 0.9, model_versions: 'm:1' },
        };
      }),
    onErrorReply: (code) => errors.push(code),
    onDrop: () => dropped++,
    onDuplicate: (req) => duplicates.push(req.id ?? '(none)'),
    onPublishError: (err) => publishErrors.push(err),
    onServed: (receivedAt) => servedAt.push(receivedAt),
  });
  const replies = () => published.map((p) => ({ topic: p.topic, reply: readFabricReply(p.payload) }));
  return {
    server,
    clock,
    served,
    errors,
    publishErrors,
    replies,
    dropped: () => dropped,
    duplicates,
    servedAt,
    failPublish: () => {
      publishFails = true;
    },
  };
}

describe('FabricServer', () => {
  it("publishes the tier's answer on the sender's reply topic, with the request's budget less the margin", async () => {
    const s = serverWith();
    await s.server.serve(request('dev-1', 'r1', 200), 'dev-1', s.clock.now());
    expect(s.served).toMatchObject([{ request: { id: 'r1', deviceId: 'dev-1' }, remainingMs: 195 }]);
    expect(s.replies()).toMatchObject([
      { topic: topics.reply('dev-1'), reply: { ok: true, id: 'r1', tier: 'edge' } },
    ]);
    expect(s.errors).toEqual([]);
  });

  it('answers PERMISSION_DENIED on the sender’s own topic when the reply topic is another device’s', async () => {
    const s = serverWith();
    await s.server.serve(request('dev-2'), 'dev-1', s.clock.now());
    expect(s.served).toEqual([]);
    expect(s.replies()).toMatchObject([
      { topic: topics.reply('dev-1'), reply: { ok: false, id: 'r1', code: 'PERMISSION_DENIED' } },
    ]);
    expect(s.errors).toEqual(['PERMISSION_DENIED']);
  });

  it('answers a malformed request with an error reply when it can be addressed, and drops it otherwise', async () => {
    const s = serverWith();
    const whole = request('dev-1', 'r3');
    const broken = whole.subarray(0, whole.length - 10);
    await s.server.serve(broken, undefined, s.clock.now());
    await s.server.serve(new Uint8Array([1, 2, 3]), 'dev-1', s.clock.now());
    expect(s.replies()).toMatchObject([
      { topic: topics.reply('dev-1'), reply: { ok: false, id: 'r3', code: 'INVALID_ARG' } },
    ]);
    expect(s.dropped()).toBe(1);
  });

  it("sends the tier's failure as the error reply, with its catalogue code", async () => {
    const s = serverWith(async () => {
      throw new FoglineError('DEADLINE_EXCEEDED', 'budget spent');
    });
    await s.server.serve(request('dev-1'), 'dev-1', s.clock.now());
    expect(s.replies()).toMatchObject([{ reply: { ok: false, id: 'r1', code: 'DEADLINE_EXCEEDED' } }]);
    expect(s.errors).toEqual(['DEADLINE_EXCEEDED']);
  });

  it('calls onServed once per message, when it is done with it, whatever became of it', async () => {
    const s = serverWith();
    const replied = s.server.serve(request('dev-1', 'a'), 'dev-1', 1);
    expect(s.servedAt).toEqual([]);
    await replied;
    expect(s.servedAt).toEqual([1]);
    await s.server.serve(new Uint8Array([1, 2, 3]), undefined, 2); // dropped: nobody to answer
    await s.server.serve(request('dev-2'), 'dev-1', 3); // PERMISSION_DENIED
    s.failPublish();
    await s.server.serve(request('dev-1', 'b'), 'dev-1', 4); // its reply fails
    expect(s.servedAt).toEqual([1, 2, 3, 4]);
    expect(s.server.inFlight).toBe(0);
  });

  it('never rejects: a reply that cannot be published goes to onPublishError', async () => {
    const s = serverWith();
    s.failPublish();
    await expect(s.server.serve(request('dev-1'), 'dev-1', s.clock.now())).resolves.toBeUndefined();
    expect(s.publishErrors).toHaveLength(1);
  });

  it('serves a request repeated while it is in flight once (its reply answers both), and again once answered', async () => {
    let release: () => void = () => {};
    const held = new Promise<void>((r) => {
      release = r;
    });
    let calls = 0;
    const s = serverWith(async (req) => {
      calls++;
      await held;
      return {
        id: req.id,
        modelName: 'm',
        modelVersion: '1',
        outputs: [logitsOutput('logits', logits)],
        parameters: { tier: 'edge', degraded: false, score: 0.9, model_versions: 'm:1' },
      };
    });
    const first = s.server.serve(request('dev-1', 'r1'), 'dev-1', s.clock.now());
    // The same id again (a QoS 1 redelivery, a device sending after a reconnect), and another device's r1.
    await s.server.serve(request('dev-1', 'r1'), 'dev-1', s.clock.now());
    const other = s.server.serve(request('dev-2', 'r1'), 'dev-2', s.clock.now());
    expect(s.server.inFlight).toBe(2);
    release();
    await Promise.all([first, other]);
    expect(calls).toBe(2);
    expect(s.duplicates).toEqual(['r1']);
    expect(s.replies().map((r) => r.topic)).toEqual([topics.reply('dev-1'), topics.reply('dev-2')]);
    expect(s.server.inFlight).toBe(0);
    // Answered: asked again, it is served again (its reply may have been lost with a connection).
    await s.server.serve(request('dev-1', 'r1'), 'dev-1', s.clock.now());
    expect(calls).toBe(3);
    expect(s.replies()).toHaveLength(3);
  });
});
