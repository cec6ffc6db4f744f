/**
 * A device process for the durable-queue test (run with `node --import tsx`): connects with
 * `offline: { store: 'file' }`, makes `COUNT` escalating requests, and prints one JSON line per event on
 * stdout: `{ ready, replayed }`, `{ queued }` once all COUNT are stored, `{ answer, label, error }` per
 * answer (live calls and `onAnswer` alike), `{ drained }` once the store is empty and its files gone.
 * With `HOLD=1` it stops its event loop after printing its first answer, so a kill lands with the rest
 * still queued.
 * Settings come from the environment: BROKER, DIR, DEVICE_ID, TOKEN, EDGE_ID, COUNT, HOLD.
 */
import { connectDevice } from '@fogline/device-sdk';
import { DIGIT_PIXELS, loadDigits } from '@fogline/shared/digits';

const env = (name: string): string => {
  const value = process.env[name];
  if (value === undefined) throw new Error(`durable-device: ${name} is not set`);
  return value;
};
// Pipes are synchronous on Linux: a printed line is out before a kill can land.
const print = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

const count = Number(process.env.COUNT ?? 0);
const hold = process.env.HOLD === '1';
let answers = 0;
const answered = (event: Record<string, unknown>) => {
  print(event);
  answers++;
  if (hold && answers === 1) Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 120_000);
};

const device = await connectDevice({
  broker: env('BROKER'),
  deviceId: env('DEVICE_ID'),
  token: env('TOKEN'),
  edgeId: env('EDGE_ID'),
  runtime: 'node',
  policy: { score: 'margin', threshold: 1 }, // always ask the edge
  deadlineMs: 5_000,
  connectTimeoutMs: 2_000,
  reconnect: { initialDelayMs: 50, maxDelayMs: 250 },
  offline: {
    store: 'file',
    dir: env('DIR'),
    ttlMs: 300_000,
    onAnswer: (a) => answered({ answer: a.requestId, label: a.result?.label, error: a.error?.code }),
  },
});
print({ ready: true, replayed: device.stats().store?.replayed });

const { images } = loadDigits('test');
for (let i = 0; i < count; i++) {
  device.infer(images.slice(i * DIGIT_PIXELS, (i + 1) * DIGIT_PIXELS)).then(
    (r) => answered({ answer: r.requestId, label: r.label, tier: r.tier }),
    (err: Error & { code?: string }) => answered({ error: err.code, message: err.message }),
  );
}

let queuedSaid = count === 0;
let drainedSaid = false;
setInterval(() => {
  const { queued = 0, bytes = 0 } = device.stats().store ?? {};
  if (!queuedSaid && queued === count) {
    queuedSaid = true;
    print({ queued });
  }
  // Drained: nothing queued and the files gone (once the last done line is synced).
  if (queuedSaid && !drainedSaid && queued === 0 && bytes === 0 && device.state === 'online') {
    drainedSaid = true;
    print({ drained: true });
  }
}, 20);
