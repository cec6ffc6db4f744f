/**
 * One raw onnxruntime session in its own process (bench/lib/raw-onnx.ts), on the first test samples (read through the dataset reader),
 * with the product workers' settings: for each `{ batch, ms }` it runs that batch for `ms`, answers the times.
 */
import { servingSessionOptions } from '@fogline/shared/runtime';
import { batchOf } from '@fogline/toolchain';
import * as ort from 'onnxruntime-node';
import { samplesFor } from './bench-data.ts';

export interface RawSessionOptions {
  readonly modelPath: string;
  readonly intraOpThreads: number;
  /** Whether idle intra-op threads spin (onnxruntime's default); the product's workers turn it off. */
  readonly spin: boolean;
}

export interface RawRun {
  readonly times: number[];
  readonly elapsedMs: number;
}

const options = JSON.parse(process.argv[2] ?? '{}') as RawSessionOptions;
const session = await ort.InferenceSession.create(
  options.modelPath,
  servingSessionOptions(options.intraOpThreads, { spin: options.spin === true }),
);
const input = session.inputNames[0]!;
const samples = await samplesFor(options.modelPath, 'test');

process.on('message', async ({ batch, ms }: { batch: number; ms: number }) => {
  const feeds = {
    [input]: new ort.Tensor('float32', batchOf(samples, 0, batch).slice(), [batch, ...samples.sampleDims]),
  };
  for (let i = 0; i < 3; i++) await session.run(feeds);
  const times: number[] = [];
  const start = performance.now();
  while (performance.now() - start < ms || times.length < 3) {
    const t0 = performance.now();
    await session.run(feeds);
    times.push(performance.now() - t0);
  }
  process.send!({ times, elapsedMs: performance.now() - start } satisfies RawRun);
});
process.on('disconnect', () => process.exit(0));
process.send!('ready');
