/**
 * What a team would stitch together instead of a fogline edge, in one afternoon: one MQTT.js
 * subscriber process on a plain broker (no auth, no ACL, no rate limit, no deadlines, no breaker)
 * running the edge's model with onnxruntime-node. It takes requests from the edge's infer topic in
 * fogline's frame format and answers on each request's `reply_to`, so the same load generator drives
 * both. Batching "as it can": whatever arrived while the previous run ran is the next batch.
 *
 * Run by bench/stitched/stitched-process.ts as a forked child: options as JSON in argv[2]; it sends
 * 'ready', then answers `{ cmd: 'counters' }` with its CPU time and batch counts.
 */
import { decodeInferMessage, encodeInferMessage, topics } from '@fogline/shared';
import mqtt from 'mqtt';
import * as ort from 'onnxruntime-node';

export interface StitchedOptions {
  /** `mqtt://host:port` of the plain broker. */
  readonly broker: string;
  readonly edgeId: string;
  readonly modelPath: string;
  readonly modelName: string;
  /** Largest batch the model takes (its config's `max_batch_size`). */
  readonly maxBatchSize: number;
  /** onnxruntime intra-op threads; 0: onnxruntime's own default (what the afternoon's code gets). */
  readonly intraOpThreads: number;
}

export interface StitchedCounters {
  readonly cpuMicros: number;
  readonly requests: number;
  readonly batches: number;
}

interface Pending {
  readonly id: string | undefined;
  readonly replyTo: string;
  readonly image: Float32Array;
  /** The request's tensor shape; its first dimension is the batch. */
  readonly shape: readonly number[];
}

const options = JSON.parse(process.argv[2] ?? '{}') as StitchedOptions;
const session = await ort.InferenceSession.create(
  options.modelPath,
  options.intraOpThreads > 0 ? { intraOpNumThreads: options.intraOpThreads } : {},
);
const inputName = session.inputNames[0]!;
const outputName = session.outputNames[0]!;
const client = await mqtt.connectAsync(options.broker, {
  clientId: `stitched-${options.edgeId}`,
  clean: true,
  reconnectPeriod: 0,
});
await client.subscribeAsync(topics.infer(options.edgeId), { qos: 1 });

let queue: Pending[] = [];
let running = false;
let requests = 0;
let batches = 0;

client.on('message', (_topic, payload) => {
  try {
    const message = decodeInferMessage(payload);
    const replyTo = message.header.parameters?.reply_to;
    const tensor = message.tensors[0];
    if (message.kind !== 'request' || typeof replyTo !== 'string' || tensor?.datatype !== 'FP32') return;
    queue.push({ id: message.header.id, replyTo, image: tensor.data as Float32Array, shape: tensor.shape });
    if (!running) void drain();
  } catch {
    // A malformed message: no reply, as a team's first version would do.
  }
});

/** Runs what is queued as one batch (up to max_batch_size), again while more arrived meanwhile. */
async function drain(): Promise<void> {
  running = true;
  while (queue.length > 0) {
    const batch = queue.slice(0, options.maxBatchSize);
    queue = queue.slice(batch.length);
    const { image, shape } = batch[0]!;
    const size = image.length;
    const input = new Float32Array(batch.length * size);
    for (const [i, p] of batch.entries()) input.set(p.image, i * size);
    const out = await session.run({
      [inputName]: new ort.Tensor('float32', input, [batch.length, ...shape.slice(1)]),
    });
    const logits = out[outputName]!.data as Float32Array;
    const classes = logits.length / batch.length;
    batch.forEach((p, i) => {
      const data = logits.subarray(i * classes, (i + 1) * classes);
      const header = { model_name: options.modelName, model_version: '1', id: p.id };
      const frame = encodeInferMessage(header, [
        { name: 'logits', datatype: 'FP32', shape: [1, classes], data },
      ]);
      client.publish(p.replyTo, Buffer.from(frame.buffer, frame.byteOffset, frame.byteLength), { qos: 1 });
    });
    requests += batch.length;
    batches++;
  }
  running = false;
}

process.on('message', () => {
  const { user, system } = process.cpuUsage();
  process.send!({ cpuMicros: user + system, requests, batches } satisfies StitchedCounters);
});
process.on('disconnect', () => {
  client.end(true, {}, () => process.exit(0));
});
process.send!('ready');
