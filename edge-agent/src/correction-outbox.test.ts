import { type Correction, MAX_CORRECTIONS_PER_MESSAGE, readCorrectionMessage, topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { CorrectionOutbox } from './correction-outbox.ts';

const correction = (i: number): Correction => ({
  requestId: `r${i}`,
  time: 1_765_000_000_000 + i,
  expires: 1_765_003_600_000 + i,
  old: { tier: 'edge', model: 'digits-mid-int8:1', outputKind: 'logits', outputs: [2, 1, 0] },
  new: { tier: 'cloud', model: 'digits-large:1', outputKind: 'logits', outputs: [0, 1, 2] },
});

function outboxWith(lists: Map<string, Correction[]>) {
  const published: { topic: string; payload: Uint8Array; retain: boolean }[] = [];
  const outbox = new CorrectionOutbox({
    publish: async (topic, payload, { retain }) => {
      published.push({ topic, payload, retain });
    },
    correctionsOf: (device) => lists.get(device) ?? [],
    delayMs: 1,
  });
  return { outbox, published };
}

describe('correction outbox', () => {
  it("publishes each changed device's list, retained, once per burst of changes", async () => {
    const lists = new Map([['dev-1', [correction(2), correction(1)]]]); // newest first
    const { outbox, published } = outboxWith(lists);
    outbox.changed(['dev-1']);
    outbox.changed(['dev-1']);
    await outbox.flush();
    expect(published).toHaveLength(1);
    expect(published[0]).toMatchObject({ topic: topics.correction('dev-1'), retain: true });
    const reading = readCorrectionMessage(published[0]!.payload, 'dev-1');
    expect(reading.ok && reading.message.corrections.map((c) => c.requestId)).toEqual(['r1', 'r2']);
  });

  it('clears the retained message once a device has no correction left', async () => {
    const { outbox, published } = outboxWith(new Map());
    outbox.changed(['dev-1']);
    await outbox.flush();
    expect(published).toMatchObject([{ topic: topics.correction('dev-1'), retain: true }]);
    expect(published[0]!.payload.byteLength).toBe(0);
  });

  it('sends the newest corrections that fit one message', async () => {
    const many = Array.from({ length: 100 }, (_, i) => correction(99 - i)); // newest first
    const { outbox, published } = outboxWith(new Map([['dev-1', many]]));
    outbox.changed(['dev-1']);
    await outbox.flush();
    const reading = readCorrectionMessage(published[0]!.payload, 'dev-1');
    if (!reading.ok) throw new Error(reading.reason);
    expect(reading.message.corrections).toHaveLength(MAX_CORRECTIONS_PER_MESSAGE);
    expect(reading.message.corrections.at(-1)?.requestId).toBe('r99');
  });
});
