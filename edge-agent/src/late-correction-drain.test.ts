import { join } from 'node:path';
import { type CorrectionAnswer, FoglineError } from '@fogline/shared';
import { afterEach, describe, expect, it } from 'vitest';
import { LateCorrectionDrain } from './late-correction-drain.ts';
import { type DegradedAnswer, LateCorrectionStore } from './late-correction-store.ts';
import { makeDataDir } from './testing/agent-fixture.ts';

const edge = (outputs: number[]): CorrectionAnswer => ({
  tier: 'edge',
  model: 'digits-mid-int8:1',
  outputKind: 'logits',
  outputs,
});
const cloud = (outputs: number[]): CorrectionAnswer => ({
  ...edge(outputs),
  tier: 'cloud',
  model: 'digits-large:1',
});

const closers: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const close of closers.splice(0).reverse()) await close();
});

async function eventually(check: () => boolean, timeoutMs = 10_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > until) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function storeWith(answers: number): Promise<LateCorrectionStore> {
  const store = await LateCorrectionStore.open({
    dir: join(await makeDataDir(), 'late-corrections'),
    maxBytes: 1024 * 1024,
    ttlMs: 60_000,
  });
  closers.push(() => store.close());
  for (let i = 0; i < answers; i++) {
    const entry: DegradedAnswer = {
      requestId: `r${i}`,
      device: 'dev-1',
      time: Date.now(),
      request: new Uint8Array(8),
      answer: edge([1, 0]),
    };
    await store.add(entry);
  }
  return store;
}

function drainOf(
  store: LateCorrectionStore,
  ask: (e: DegradedAnswer) => Promise<CorrectionAnswer>,
  up = () => true,
) {
  const drain = new LateCorrectionDrain({ store, cloudUp: up, ask, ttlMs: 60_000, pollMs: 20 });
  closers.push(async () => drain.close());
  return drain;
}

describe('late-correction drain', () => {
  it('corrects only where the cloud answers another class, and settles both', async () => {
    const store = await storeWith(2);
    const drain = drainOf(store, async (e) => cloud(e.requestId === 'r0' ? [0, 1] : [1, 0]));
    // Settled: off the pending list at once, the correction recorded once its log append is written.
    await eventually(() => store.counts().pending === 0 && store.correctionsOf('dev-1').length > 0);
    expect(drain.counts()).toMatchObject({ corrected: 1, agreed: 1 });
    expect(store.correctionsOf('dev-1')).toMatchObject([{ requestId: 'r0', new: { outputs: [0, 1] } }]);
  });

  it('asks nothing while the breaker is open', async () => {
    const store = await storeWith(1);
    let asked = 0;
    let up = false;
    drainOf(
      store,
      async () => {
        asked++;
        return cloud([1, 0]);
      },
      () => up,
    );
    await new Promise((r) => setTimeout(r, 200));
    expect(asked).toBe(0);
    up = true;
    await eventually(() => store.counts().pending === 0);
    expect(asked).toBe(1);
  });

  it("waits the cloud's Retry-After on RATE_LIMITED, keeps failed answers, settles refused ones", async () => {
    const store = await storeWith(3);
    const calls: { id: string; at: number }[] = [];
    let limited = false;
    let failed = false;
    const drain = drainOf(store, async (e) => {
      calls.push({ id: e.requestId, at: Date.now() });
      if (e.requestId === 'r0' && !limited) {
        limited = true;
        throw new FoglineError('RATE_LIMITED', 'slow down', { details: { retryAfterMs: 500 } });
      }
      if (e.requestId === 'r1' && !failed) {
        failed = true;
        throw new FoglineError('UNAVAILABLE', 'cloud unreachable');
      }
      if (e.requestId === 'r2') throw new FoglineError('INVALID_ARG', 'does not fit');
      return cloud([1, 0]);
    });
    await eventually(() => store.counts().pending === 0);
    expect(drain.counts()).toMatchObject({ rateLimited: 1, failed: 1, refused: 1, agreed: 2, corrected: 0 });
    const first = calls.find((c) => c.id === 'r0')!;
    const afterLimit = calls.filter((c) => c.at > first.at && c.id === 'r0');
    expect(afterLimit.length).toBe(1);
    expect(afterLimit[0]!.at - first.at).toBeGreaterThanOrEqual(500);
  });
});
