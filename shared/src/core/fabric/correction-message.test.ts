import { describe, expect, it } from 'vitest';
import {
  type Correction,
  encodeCorrectionMessage,
  MAX_CORRECTION_MESSAGE_BYTES,
  readCorrectionMessage,
} from './correction-message.ts';

const correction: Correction = {
  requestId: 'abc-1',
  time: 1_765_000_000_000,
  expires: 1_765_003_600_000,
  old: { tier: 'edge', model: 'digits-mid-int8:1', outputKind: 'logits', outputs: [3, 1, 0] },
  new: { tier: 'cloud', model: 'digits-large:1', outputKind: 'logits', outputs: [0, 1, 4] },
};
/** At the edges of the printable-id rule (names.ts). */
const PRINTABLE_IDS = { good: ['a', '~!"#$%', 'x'.repeat(128)], bad: ['', 'a b', 'é', 'x'.repeat(129)] };
const bytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('correction message', () => {
  it('reads back what the edge encodes', () => {
    const payload = encodeCorrectionMessage({ device: 'dev-1', corrections: [correction] });
    const reading = readCorrectionMessage(payload, 'dev-1');
    expect(reading).toEqual({ ok: true, message: { device: 'dev-1', corrections: [correction] } });
  });

  it('reads an empty payload (a cleared retained message) as no corrections', () => {
    expect(readCorrectionMessage(new Uint8Array(0), 'dev-1')).toEqual({
      ok: true,
      message: { device: 'dev-1', corrections: [] },
    });
  });

  it("refuses another device's message, malformed fields and oversized payloads, saying why", () => {
    const payload = encodeCorrectionMessage({ device: 'dev-1', corrections: [correction] });
    expect(readCorrectionMessage(payload, 'dev-2')).toMatchObject({ ok: false, reason: /dev-2/ });
    const wire = JSON.parse(new TextDecoder().decode(payload));
    const broken = (edit: (w: typeof wire) => void) => {
      const w = structuredClone(wire);
      edit(w);
      return readCorrectionMessage(bytes(w), 'dev-1');
    };
    expect(broken((w) => (w.corrections[0].request_id = ''))).toMatchObject({ reason: /request_id/ });
    expect(broken((w) => (w.corrections[0].expires = 1))).toMatchObject({ reason: /expires/ });
    expect(broken((w) => (w.corrections[0].new.tier = 'moon'))).toMatchObject({ reason: /new.tier/ });
    expect(broken((w) => (w.corrections[0].old.outputs = [1, 'x']))).toMatchObject({ reason: /old.outputs/ });
    expect(broken((w) => (w.corrections[0].new.outputs = [1]))).toMatchObject({ reason: /as many classes/ });
    expect(broken((w) => (w.corrections = {}))).toMatchObject({ ok: false });
    expect(readCorrectionMessage(new Uint8Array([0xff, 0xfe]), 'dev-1')).toMatchObject({ reason: /JSON/ });
    const big = new Uint8Array(MAX_CORRECTION_MESSAGE_BYTES + 1).fill(0x20);
    expect(readCorrectionMessage(big, 'dev-1')).toMatchObject({ ok: false });
    expect(() => encodeCorrectionMessage({ device: 'dev/1', corrections: [] })).toThrow(/device id/);
  });

  it('takes a request id by the one printable-id rule, refusing the rest with one message', () => {
    const read = (requestId: string) =>
      readCorrectionMessage(
        bytes({ device: 'dev-1', corrections: [wireOf({ ...correction, requestId })] }),
        'dev-1',
      );
    for (const id of PRINTABLE_IDS.good) expect(read(id).ok, id).toBe(true);
    for (const id of PRINTABLE_IDS.bad) {
      expect(read(id), id).toEqual({
        ok: false,
        reason: 'corrections[0]: "request_id" must be 1–128 printable chars',
      });
    }
  });
});

/** One correction as it travels (snake_case), from a valid message the edge encodes. */
function wireOf(c: Correction): unknown {
  const valid = { ...c, requestId: 'placeholder' };
  const wire = JSON.parse(
    new TextDecoder().decode(encodeCorrectionMessage({ device: 'dev-1', corrections: [valid] })),
  );
  return { ...wire.corrections[0], request_id: c.requestId };
}
