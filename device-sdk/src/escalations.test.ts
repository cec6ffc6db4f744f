import type { FabricReply } from '@fogline/shared';
import { systemClock } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { Escalations, type EscalationsOptions } from './escalations.ts';

function setup(overrides: Partial<EscalationsOptions> = {}) {
  const sent: string[] = [];
  let online = true;
  const escalations = new Escalations({
    clock: systemClock,
    offline: 'local',
    maxQueued: 8,
    minEscalationMs: 1,
    sender: {
      isOnline: () => online,
      send: async (payload) => {
        sent.push(new TextDecoder().decode(payload));
      },
    },
    ...overrides,
  });
  return { escalations, sent, setOnline: (v: boolean) => (online = v) };
}

const encodeAs = (id: string) => () => new TextEncoder().encode(id);
const reply = (id: string): FabricReply => ({
  ok: true,
  id,
  logits: new Float32Array(10),
  outputKind: 'logits',
  tier: 'edge',
  degraded: false,
  score: 1,
});

describe('Escalations', () => {
  it('settles each request once: a late or duplicate reply is ignored', async () => {
    const { escalations } = setup();
    const outcome = escalations.start('a', 1_000, encodeAs('a'));
    expect(escalations.onReply(reply('a'))).toBe(true);
    expect(escalations.onReply(reply('a'))).toBe(false);
    expect(escalations.onReply(reply('unknown'))).toBe(false);
    expect((await outcome).kind).toBe('reply');
    expect(escalations.inFlight).toBe(0);
  });

  it('queue mode sends held requests oldest first when back online', async () => {
    const { escalations, sent, setOnline } = setup({ offline: 'queue' });
    setOnline(false);
    const outcomes = ['q1', 'q2', 'q3'].map((id) => escalations.start(id, 5_000, encodeAs(id)));
    expect(escalations.queued).toBe(3);
    setOnline(true);
    escalations.onOnline();
    expect(sent).toEqual(['q1', 'q2', 'q3']);
    for (const id of ['q1', 'q2', 'q3']) escalations.onReply(reply(id));
    expect((await Promise.all(outcomes)).map((o) => o.kind)).toEqual(['reply', 'reply', 'reply']);
  });

  it('local mode answers in-flight requests at once when the connection drops', async () => {
    const { escalations } = setup();
    const outcome = escalations.start('a', 5_000, encodeAs('a'));
    escalations.onOffline();
    expect(await outcome).toMatchObject({ kind: 'fallback', code: 'UNAVAILABLE' });
  });

  it('a publish failure falls back instead of hanging until the deadline', async () => {
    const { escalations } = setup({
      sender: { isOnline: () => true, send: () => Promise.reject(new Error('socket closed')) },
    });
    expect(await escalations.start('a', 5_000, encodeAs('a'))).toMatchObject({
      kind: 'fallback',
      code: 'UNAVAILABLE',
    });
  });

  it('re-sends after a RATE_LIMITED reply waits out its retry-after; falls back when the deadline is nearer', async () => {
    const { escalations, sent } = setup();
    const limited = (id: string, retryAfterMs: number): FabricReply => ({
      ok: false,
      id,
      code: 'RATE_LIMITED',
      message: 'over its publish rate',
      retryAfterMs,
    });
    const paced = escalations.start('a', 5_000, encodeAs('a'));
    expect(escalations.onReply(limited('a', 30))).toBe(true);
    expect(sent).toEqual(['a']);
    await new Promise((r) => setTimeout(r, 80));
    expect(sent).toEqual(['a', 'a']);
    escalations.onReply(reply('a'));
    expect((await paced).kind).toBe('reply');
    const late = escalations.start('b', 200, encodeAs('b'));
    escalations.onReply(limited('b', 1_000));
    expect(await late).toMatchObject({ kind: 'fallback', code: 'RATE_LIMITED' });
    expect(escalations.inFlight + escalations.queued).toBe(0);
  });

  it('settleAll answers everything still pending', async () => {
    const { escalations, setOnline } = setup({ offline: 'queue' });
    const inFlight = escalations.start('a', 5_000, encodeAs('a'));
    setOnline(false);
    const queued = escalations.start('b', 5_000, encodeAs('b'));
    escalations.settleAll('UNAVAILABLE', 'closing');
    expect((await Promise.all([inFlight, queued])).map((o) => o.kind)).toEqual(['fallback', 'fallback']);
  });
});
