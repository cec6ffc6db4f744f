import { topics } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { type DesiredStateMessage, DesiredStatePublisher } from './desired-state-publisher.ts';

/** A device table whose reads take a while, and the messages published (in order). */
function setup(now: () => number = () => 1000) {
  const devices = new Map<string, string[]>([['edge-1', []]]);
  const published: { topic: string; message: DesiredStateMessage }[] = [];
  const publisher = new DesiredStatePublisher({
    devices: {
      listByEdge: async (edgeId) => {
        const ids = [...(devices.get(edgeId) ?? [])];
        await new Promise((r) => setTimeout(r, 5));
        return ids.map((id) => ({ id, tokenHash: `scrypt$${id}` }));
      },
    },
    publish: async (topic, payload) => {
      published.push({ topic, message: JSON.parse(payload) as DesiredStateMessage });
    },
    models: () => ({ 'digits-mid': 1 }),
    now,
  });
  return { devices, published, publisher };
}

describe('DesiredStatePublisher', () => {
  it('always ends with the latest list, coalescing changes that arrive while a publish runs', async () => {
    const { devices, published, publisher } = setup();
    const runs: Promise<unknown>[] = [];
    for (let i = 1; i <= 5; i++) {
      devices.get('edge-1')!.push(`dev-${i}`);
      runs.push(publisher.publish('edge-1'));
    }
    await Promise.all(runs);
    await publisher.idle();
    expect(published.length).toBeLessThanOrEqual(2);
    const last = published.at(-1)!;
    expect(last.topic).toBe(topics.desired('edge-1'));
    expect(last.message.devices.map((d) => d.id)).toEqual(['dev-1', 'dev-2', 'dev-3', 'dev-4', 'dev-5']);
    expect(last.message.models).toEqual({ 'digits-mid': 1 });
  });

  it('numbers versions from the wall clock, strictly increasing even when the clock stands still or goes back', async () => {
    let clock = 5000;
    const { published, publisher } = setup(() => clock);
    await publisher.publish('edge-1');
    await publisher.publish('edge-1');
    clock = 10;
    await publisher.publish('edge-1');
    clock = 9000;
    await publisher.publish('edge-1');
    expect(published.map((p) => p.message.version)).toEqual([5000, 5001, 5002, 9000]);
  });

  it('serves what the topic holds: publishes first when nothing was, waits for a publish under way', async () => {
    const { devices, published, publisher } = setup();
    const first = await publisher.current('edge-1');
    expect(published).toHaveLength(1);
    expect(first?.message).toEqual(published[0]!.message);
    expect(first?.payload).toBe(JSON.stringify(published[0]!.message));
    expect(await publisher.current('edge-1')).toBe(first); // nothing new: no publish

    devices.get('edge-1')!.push('dev-1');
    void publisher.publish('edge-1');
    const after = await publisher.current('edge-1');
    expect(published).toHaveLength(2);
    expect(after?.message).toEqual(published[1]!.message);
    expect(after?.message.devices.map((d) => d.id)).toEqual(['dev-1']);
  });

  it('reports a failed publish and resolves undefined instead of throwing', async () => {
    const errors: string[] = [];
    const publisher = new DesiredStatePublisher({
      devices: { listByEdge: async () => Promise.reject(new Error('database down')) },
      publish: async () => {},
      models: () => ({}),
      onError: (edgeId, err) => errors.push(`${edgeId}: ${err.message}`),
    });
    expect(await publisher.publish('edge-9')).toBeUndefined();
    expect(errors).toEqual(['edge-9: database down']);
    expect(await publisher.current('edge-9')).toBeUndefined();
  });
});
