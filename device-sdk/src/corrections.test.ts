import { type Correction, encodeCorrectionMessage, type ModelConfig } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { CorrectionInbox, type LateCorrection } from './corrections.ts';

const config = { labels: ['zero', 'one', 'two'] } as unknown as ModelConfig;
const correction = (requestId: string): Correction => ({
  requestId,
  time: 1_765_000_000_000,
  expires: 1_765_003_600_000,
  old: { tier: 'edge', model: 'digits-mid-int8:1', outputKind: 'logits', outputs: [3, 1, 0] },
  new: { tier: 'cloud', model: 'digits-large:1', outputKind: 'logits', outputs: [0, 1, 4] },
});
const message = (...ids: string[]) =>
  encodeCorrectionMessage({ device: 'dev-1', corrections: ids.map(correction) });

describe('correction inbox', () => {
  it('emits each request id once, with both answers classified by the device labels', () => {
    const inbox = new CorrectionInbox({ deviceId: 'dev-1', config });
    const got: LateCorrection[] = [];
    inbox.listen((c) => got.push(c));
    inbox.receive(message('a'));
    inbox.receive(message('a', 'b')); // the list again, with one more
    inbox.receive(new Uint8Array(0)); // cleared
    expect(got.map((c) => c.requestId)).toEqual(['a', 'b']);
    expect(got[0]).toMatchObject({
      old: { tier: 'edge', label: 0, labelName: 'zero' },
      new: { tier: 'cloud', label: 2, labelName: 'two', model: 'digits-large:1' },
    });
    expect(inbox.counts).toEqual({ emitted: 2, repeats: 1, refused: 0 });
  });

  it("refuses another device's and malformed messages; a throwing listener does not stop the others", () => {
    const errors: unknown[] = [];
    const inbox = new CorrectionInbox({ deviceId: 'dev-2', config, onListenerError: (e) => errors.push(e) });
    inbox.receive(message('a'));
    inbox.receive(new TextEncoder().encode('{"device":'));
    expect(inbox.counts.refused).toBe(2);
    const mine = new CorrectionInbox({ deviceId: 'dev-1', config, onListenerError: (e) => errors.push(e) });
    const got: string[] = [];
    mine.listen(() => {
      throw new Error('app bug');
    });
    mine.listen((c) => got.push(c.requestId));
    mine.receive(message('a'));
    expect(got).toEqual(['a']);
    expect(errors).toHaveLength(1);
  });

  it('remembers a bounded number of ids, the oldest forgotten first', () => {
    const inbox = new CorrectionInbox({ deviceId: 'dev-1', config, maxSeen: 2 });
    const got: string[] = [];
    inbox.listen((c) => got.push(c.requestId));
    inbox.receive(message('a', 'b', 'c'));
    inbox.receive(message('c'));
    inbox.receive(message('a'));
    expect(got).toEqual(['a', 'b', 'c', 'a']);
  });
});
