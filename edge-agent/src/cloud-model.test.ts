/**
 * The edge's view of its cloud model (wire.md "Edge → cloud HTTP"): metadata validated as network
 * input, judged with the fabric's tier rule against the edge model, a misfit warned about once and
 * read again after a while, metadata read again after a failed call.
 */
import { FoglineError, ManualClock, systemClock, type TierModel } from '@fogline/shared';
import { describe, expect, it } from 'vitest';
import { CloudModelLink, readCloudModel } from './cloud-model.ts';

const edge: TierModel = {
  name: 'shapes-edge',
  inputs: [{ name: 'x', datatype: 'FP16', shape: [-1, 3, 4, 4] }],
  outputs: [{ name: 'probs', datatype: 'FP32', shape: [-1, 3] }],
  labels: ['a', 'b', 'c'],
};
const metadata = (labels?: string[]) => ({
  name: 'shapes-cloud',
  versions: ['1'],
  platform: 'onnxruntime_onnx',
  inputs: [
    {
      name: 'pixels',
      datatype: 'UINT8',
      shape: [-1, 3, 4, 4],
      parameters: { quantization: { scale: 0.5, zero_point: 2 } },
    },
  ],
  outputs: [{ name: 'scores', datatype: 'FP16', shape: [-1, 3] }],
  ...(labels && { parameters: { tier: 'cloud', output_kind: 'probabilities', labels } }),
});

function link(answers: unknown[]) {
  const warnings: string[] = [];
  const clock = new ManualClock();
  let reads = 0;
  const client = { metadata: async () => answers[Math.min(reads++, answers.length - 1)] };
  const model = 'shapes-cloud';
  const l = new CloudModelLink({ model, edge, clock, warn: (m) => warnings.push(m), recheckMs: 1000 });
  return { l, client, warnings, clock, reads: () => reads };
}

describe('readCloudModel', () => {
  it('reads the input and output specs, quantization, output kind and labels', () => {
    const model = readCloudModel(metadata(['a', 'b', 'c']), edge);
    expect(model.input).toEqual({
      name: 'pixels',
      datatype: 'UINT8',
      shape: [-1, 3, 4, 4],
      quantization: { scale: 0.5, zero_point: 2 },
    });
    expect(model).toMatchObject({
      output: { name: 'scores', datatype: 'FP16' },
      outputKind: 'probabilities',
    });
  });

  it("takes a cloud without fogline's parameters to output logits over the edge's labels", () => {
    expect(readCloudModel(metadata(), edge)).toMatchObject({ outputKind: 'logits', labels: edge.labels });
  });

  it('refuses datatypes the fabric does not carry and malformed fields, naming the field', () => {
    const wide = { ...metadata(), inputs: [{ name: 'p', datatype: 'INT32', shape: [-1, 3, 4, 4] }] };
    expect(() => readCloudModel(wide, edge)).toThrow(/inputs\[0\]\.datatype is "INT32"/);
    expect(() => readCloudModel({ ...metadata(), outputs: [] }, edge)).toThrow(
      /outputs must be a non-empty array/,
    );
    expect(() => readCloudModel('nope', edge)).toThrow(/not a JSON object/);
  });
});

describe('CloudModelLink', () => {
  it('keeps a fitting model until a call fails, then reads the metadata again', async () => {
    const { l, client, reads } = link([metadata(['a', 'b', 'c'])]);
    expect(l.known()).toBeUndefined();
    const state = await l.refresh(client, 100);
    expect(state.fits).toBe(true);
    expect(l.known()).toBe(state);
    l.forget();
    expect(l.known()).toBeUndefined();
    await l.refresh(client, 100);
    expect(reads()).toBe(2);
  });

  it('warns once about a model that does not fit, and reads it again after recheckMs', async () => {
    const { l, client, warnings, clock } = link([
      metadata(['c', 'b', 'a']),
      metadata(['c', 'b', 'a']),
      metadata(['a', 'b', 'c']),
    ]);
    const first = await l.refresh(client, 100);
    expect(first).toMatchObject({ fits: false });
    expect(!first.fits && first.message).toMatch(
      /cloud model "shapes-cloud" vs edge model "shapes-edge": labels are in another order/,
    );
    clock.advance(1000);
    expect(l.known()).toBeUndefined();
    await l.refresh(client, 100);
    expect(warnings).toHaveLength(1);
    clock.advance(1000);
    expect((await l.refresh(client, 100)).fits).toBe(true);
  });

  it('a read that runs out of the budget of the caller who started it does not fail a caller with more left', async () => {
    // A cloud whose first metadata call hangs until its timeout (as a black hole does), then answers.
    let calls = 0;
    const client = {
      metadata: (timeoutMs: number) =>
        calls++ === 0
          ? new Promise<unknown>((_, reject) =>
              setTimeout(
                () => reject(new FoglineError('DEADLINE_EXCEEDED', 'metadata timed out')),
                timeoutMs,
              ),
            )
          : Promise.resolve(metadata(['a', 'b', 'c'])),
    };
    const l = new CloudModelLink({ model: 'shapes-cloud', edge, clock: systemClock, warn: () => {} });
    const short = l.refresh(client, 30); // an earlier request, near its deadline, starts the read
    const long = l.refresh(client, 2000); // a request with its whole budget joins it
    const shortOutcome = short.catch((err: FoglineError) => err.code);
    const longOutcome = long.catch((err: FoglineError) => err.code);
    expect(await shortOutcome).toBe('DEADLINE_EXCEEDED');
    expect(await longOutcome).toMatchObject({ fits: true });
    expect(calls).toBe(2);
    // A caller with less budget than the read under way shares it, and its failure.
    const l2 = new CloudModelLink({ model: 'shapes-cloud', edge, clock: systemClock, warn: () => {} });
    calls = 0;
    const first = l2.refresh(client, 60).catch((err: FoglineError) => err.code);
    const second = l2.refresh(client, 30).catch((err: FoglineError) => err.code);
    expect([await first, await second]).toEqual(['DEADLINE_EXCEEDED', 'DEADLINE_EXCEEDED']);
    expect(calls).toBe(1);
  });
});
