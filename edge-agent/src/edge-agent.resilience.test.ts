/**
 * What the edge does when things go wrong (docs/design.md "Resilience"): the cloud down or hanging, and
 * malformed messages on the infer topic. Every request still gets an answer or an explicit error
 * before its deadline, and the agent keeps serving.
 */
import { createServer, type Server } from 'node:net';
import { encodeInferMessage, topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import {
  ESCALATE_ALL,
  escalatingTo,
  startTestAgent,
  UNREACHABLE_CLOUD_URL,
} from './testing/agent-fixture.ts';
import { testDigits } from './testing/device-client.ts';
import { connectAgentDevice, withAgentAndDevice } from './testing/with-agent.ts';

const device = { id: 'dev-1', token: 'tok-1' };
const other = { id: 'dev-2', token: 'tok-2' };
const { images } = testDigits(20);

async function silentServer(): Promise<{ url: string; close(): void; server: Server; accepted(): number }> {
  let accepted = 0;
  const server = createServer(() => accepted++); // accepts, never answers: a hanging cloud
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    server,
    accepted: () => accepted,
    url: `http://127.0.0.1:${(server.address() as { port: number }).port}`,
    close: () => server.close(),
  };
}

describe('cloud unavailable', () => {
  it('opens the breaker when the cloud is down and answers every request before its deadline, degraded', async () => {
    await withAgentAndDevice(
      {
        devices: [device],
        ...escalatingTo(UNREACHABLE_CLOUD_URL, 5),
      },
      async (fixture, dev) => {
        const deadlineMs = 1000;
        const burst = (from: number, to: number) =>
          Promise.all(images.slice(from, to).map((image) => dev.infer(image, { deadlineMs })));
        const replies = [...(await burst(0, 10)), ...(await burst(10, 20))];
        for (const { decoded, elapsedMs } of replies) {
          expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: true });
          expect(elapsedMs).toBeLessThan(deadlineMs);
        }
        const t = fixture.agent.telemetry();
        expect(t.breaker).toBe('open');
        expect(t.counts.degraded).toBe(20);
        // Once open, the breaker answers for the cloud: the second burst never tried it.
        expect(t.counts.escalations).toBeLessThanOrEqual(10);
        expect(t.breakerOpens).toBe(1);
      },
    );
  });

  it('never waits for a hanging cloud past the request deadline', async () => {
    const hanging = await silentServer();
    await withAgentAndDevice(
      {
        devices: [device],
        ...escalatingTo(hanging.url, 3),
        replyMarginMs: 100,
      },
      async (fixture, dev) => {
        const deadlineMs = 400;
        for (let i = 0; i < 5; i++) {
          const { decoded, elapsedMs } = await dev.infer(images[i]!, { deadlineMs });
          expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: true });
          expect(elapsedMs).toBeLessThan(deadlineMs);
        }
        expect(fixture.agent.breakerState).toBe('open');
      },
    ).finally(() => hanging.close());
  });

  it('bounds a request that shares a metadata read started by an earlier one by its own deadline', async () => {
    const hanging = await silentServer();
    await withAgentAndDevice(
      { devices: [device], ...escalatingTo(hanging.url, 100), replyMarginMs: 100 },
      async (_fixture, dev) => {
        // The first escalation starts the read with its 5 s budget; the second joins it with 400 ms
        // once the read is under way (the cloud has its connection).
        let longAnswered = false;
        const long = dev.infer(images[0]!, { deadlineMs: 5000 }).finally(() => {
          longAnswered = true;
        });
        await expect.poll(hanging.accepted).toBeGreaterThan(0);
        const short = await dev.infer(images[1]!, { deadlineMs: 400 });
        expect(short.decoded.header.parameters).toMatchObject({
          tier: 'edge',
          degraded: true,
          fallback_code: 'DEADLINE_EXCEEDED',
        });
        // Bound by its own deadline, not the read's: answered while the first still waits on the
        // read, in well under its time (a loaded machine delays both alike; a fixed 400 ms bound
        // failed there at 898 ms).
        expect(longAnswered).toBe(false);
        expect(short.elapsedMs).toBeLessThan((await long).elapsedMs / 2);
      },
    ).finally(() => hanging.close());
  });
});

describe('malformed messages on the infer topic', () => {
  it('answers with an error where a reply topic can be read, drops and counts the rest, and keeps serving', async () => {
    const fixture = await startTestAgent({ devices: [device, other] });
    const dev = await connectAgentDevice(fixture, device);
    const replyTo = topics.reply(device.id);
    const frame = (id: string, parameters: Record<string, string | number>, tensor: object) =>
      encodeInferMessage({ id, parameters: { reply_to: replyTo, ...parameters } }, [
        { name: 'image', datatype: 'FP32', shape: [1, 1, 28, 28], data: images[0]!, ...tensor } as never,
      ]);
    try {
      await dev.publishRaw(new Uint8Array([0xde, 0xad, 0xbe, 0xef, 1, 2, 3]));
      await dev.publishRaw(new TextEncoder().encode('{"not":"framed"}'));

      const truncated = frame('trunc', {}, {});
      await dev.publishRaw(truncated.subarray(0, truncated.length - 100));
      await dev.publishRaw(frame('shape', {}, { shape: [1, 784], data: images[0]! }));
      // The input is taken by position whatever its name (wire.md), but an INT32 one is not a fabric datatype.
      await dev.publishRaw(frame('type', {}, { datatype: 'INT32', data: new Int32Array(784) }));
      await dev.publishRaw(frame('nan', {}, { data: new Float32Array(784).fill(Number.NaN) }));
      await dev.publishRaw(frame('late', { deadline_ms: 0 }, {}));
      await dev.publishRaw(frame('spoof', { reply_to: topics.reply(other.id) }, {}));

      const codeOf = async (id: string) => {
        const { decoded } = await dev.reply(id, 5000);
        expect(decoded.kind).toBe('error');
        return decoded.header.parameters?.error_code;
      };
      expect(await codeOf('trunc')).toBe('INVALID_ARG');
      expect(await codeOf('shape')).toBe('INVALID_ARG');
      expect(await codeOf('type')).toBe('INVALID_ARG');
      expect(await codeOf('nan')).toBe('INVALID_ARG');
      expect(await codeOf('late')).toBe('DEADLINE_EXCEEDED');
      // A device may not aim the edge's answers at another device: refused, on its own topic.
      expect(await codeOf('spoof')).toBe('PERMISSION_DENIED');

      const { decoded } = await dev.infer(images[1]!, { deadlineMs: 2000 });
      expect(decoded.kind).toBe('response');
      const t = fixture.agent.telemetry();
      expect(t.counts.errors).toBe(6);
      expect(t.counts.dropped).toBe(2);
      expect(t.errorsByCode).toMatchObject({ INVALID_ARG: 4, DEADLINE_EXCEEDED: 1, PERMISSION_DENIED: 1 });
    } finally {
      await dev.close();
      await fixture.stop();
    }
  });
});

describe('graceful shutdown', () => {
  it('finishes the requests in flight before it closes', async () => {
    const hanging = await silentServer();
    const fixture = await startTestAgent({ devices: [device], cloudUrl: hanging.url, ...ESCALATE_ALL });
    const dev = await connectAgentDevice(fixture, device);
    try {
      // Each request waits on the hanging cloud until its 800 ms budget is nearly spent.
      const pending = images.slice(0, 5).map((image) => dev.infer(image, { deadlineMs: 800 }));
      while (fixture.agent.telemetry().counts.escalations < 5) await new Promise((r) => setTimeout(r, 10));
      const stopped = fixture.stop();
      const replies = await Promise.all(pending);
      for (const { decoded } of replies)
        expect(decoded.header.parameters).toMatchObject({ tier: 'edge', degraded: true });
      await stopped;
    } finally {
      await dev.client.endAsync(true);
      hanging.close();
    }
  });
});
