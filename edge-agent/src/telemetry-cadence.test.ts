import { describe, expect, it } from 'vitest';
import { TelemetryCadence } from './telemetry-cadence.ts';

describe('TelemetryCadence', () => {
  it('publishes on the interval, and at once on now(), changes in one turn coalesced', async () => {
    const cadence = new TelemetryCadence();
    let published = 0;
    cadence.now(); // before start: nothing to publish with
    cadence.start(() => published++, 60_000);
    cadence.now();
    cadence.now();
    await new Promise((r) => setTimeout(r, 20));
    expect(published).toBe(1);
    cadence.stop();
    cadence.now();
    await new Promise((r) => setTimeout(r, 20));
    expect(published).toBe(1);
  });
});
