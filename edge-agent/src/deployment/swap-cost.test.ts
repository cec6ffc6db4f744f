/**
 * The deployer's swap cost line: each phase begun, once, in order (a phase begun again adds up), and
 * an event loop held by the deployment shows in the delay it reports.
 */
import { describe, expect, it } from 'vitest';
import { SwapCost } from './swap-cost.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Holds the event loop for `ms`, as a synchronous call on it would. */
function hold(ms: number): void {
  const until = performance.now() + ms;
  while (performance.now() < until) {}
}

describe('SwapCost', () => {
  it('names the phases run and reports an event loop held during them', async () => {
    const cost = new SwapCost();
    cost.begin('verify');
    await sleep(20);
    cost.begin('download');
    await sleep(20);
    cost.begin('verify');
    await sleep(20);
    cost.begin('load');
    hold(120);
    await sleep(20);
    const line = cost.finish();
    const parts =
      /^download (\d+) ms, verify (\d+) ms, load (\d+) ms; event loop delay p99 [\d.]+ ms, max ([\d.]+) ms$/.exec(
        line,
      );
    expect(parts, line).not.toBeNull();
    const [, , verify, load, max] = parts!.map(Number);
    expect(verify).toBeGreaterThanOrEqual(38); // both verify phases
    expect(load).toBeGreaterThanOrEqual(120);
    expect(max).toBeGreaterThanOrEqual(100); // the 120 ms hold, less the sampling resolution
    expect(cost.finish()).toBe(line);
  });
});
