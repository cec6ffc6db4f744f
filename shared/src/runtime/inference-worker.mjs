// One inference worker: owns one onnxruntime-node session and runs whatever the parent posts.
// Plain JS on purpose: worker_threads start without the parent's TypeScript loader (tsx, vitest).
//
// Protocol (see worker-protocol.ts):
//   workerData: { modelPath, intraOpThreads }
//   worker → parent, once: { type: 'ready', inputNames, outputNames, inputDims } | { type: 'init-error', message }
//     (inputDims: each input's dims as the model declares them, -1 for open ones)
//   parent → worker: { id, feeds?: { [name]: { data, dims, type? } }, outputs?: string[], handBack?: boolean }
//     (no feeds = warm-up run; handBack: the feeds' buffers were transferred, send them back once run)
//   worker → parent: { id, outputs: { [name]: { data, dims, type } }, inputs?: ArrayBuffer[] }
//     | { id, error: message, inputs?: ArrayBuffer[] }
import { parentPort, workerData } from 'node:worker_threads';
import * as ort from 'onnxruntime-node';
import { servingSessionOptions } from './session-options.mjs';

const { modelPath, intraOpThreads } = workerData;

/** Transfers a typed array's buffer when the array owns all of it; otherwise it is copied. */
function ownsBuffer(data) {
  return (
    data.byteOffset === 0 && data.byteLength === data.buffer.byteLength && data.buffer instanceof ArrayBuffer
  );
}

const ZERO_ARRAY = {
  float32: Float32Array,
  float64: Float64Array,
  float16: Uint16Array,
  int8: Int8Array,
  uint8: Uint8Array,
  int16: Int16Array,
  int32: Int32Array,
  int64: BigInt64Array,
};

/** Zero-filled inputs of batch 1 built from the model's own metadata (symbolic dims → 1). */
function warmupInputs(session) {
  const inputs = {};
  for (const meta of session.inputMetadata) {
    const dims = meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : 1));
    const type = ZERO_ARRAY[meta.type] ? meta.type : 'float32';
    inputs[meta.name] = new ort.Tensor(type, new ZERO_ARRAY[type](dims.reduce((a, b) => a * b, 1)), dims);
  }
  return inputs;
}

async function main() {
  let session;
  try {
    session = await ort.InferenceSession.create(modelPath, servingSessionOptions(intraOpThreads));
  } catch (err) {
    parentPort.postMessage({ type: 'init-error', message: err instanceof Error ? err.message : String(err) });
    return;
  }
  parentPort.on('message', async (msg) => {
    if (msg.type === 'close') {
      await session.release().catch(() => {});
      parentPort.close();
      return;
    }
    const { id, feeds, outputs, handBack } = msg;
    // The input buffers go back to the parent for its next batch, once onnxruntime is done with them.
    const inputs = [];
    if (handBack && feeds) {
      for (const name of Object.keys(feeds)) {
        const buffer = feeds[name].data.buffer;
        if (buffer instanceof ArrayBuffer && !inputs.includes(buffer)) inputs.push(buffer);
      }
    }
    try {
      const tensors = feeds ? {} : warmupInputs(session);
      for (const name of Object.keys(feeds ?? {})) {
        const { data, dims, type } = feeds[name];
        // The type is explicit for float16, whose half bits arrive in a Uint16Array.
        tensors[name] = type ? new ort.Tensor(type, data, dims) : new ort.Tensor(data, dims);
      }
      const result = outputs ? await session.run(tensors, outputs) : await session.run(tensors);
      const reply = {};
      const transfer = [];
      for (const name of Object.keys(result)) {
        const tensor = result[name];
        const data = tensor.data;
        reply[name] = { data, dims: Array.from(tensor.dims), type: tensor.type };
        if (ArrayBuffer.isView(data) && ownsBuffer(data)) transfer.push(data.buffer);
      }
      for (const buffer of inputs) if (!transfer.includes(buffer)) transfer.push(buffer);
      parentPort.postMessage(
        inputs.length > 0 ? { id, outputs: reply, inputs } : { id, outputs: reply },
        transfer,
      );
    } catch (err) {
      const error = err instanceof Error ? err.message : String(err);
      parentPort.postMessage(inputs.length > 0 ? { id, error, inputs } : { id, error }, inputs);
    }
  });
  const inputDims = session.inputMetadata.map((meta) =>
    meta.isTensor ? meta.shape.map((d) => (typeof d === 'number' && d > 0 ? d : -1)) : [],
  );
  parentPort.postMessage({
    type: 'ready',
    inputNames: session.inputNames,
    outputNames: session.outputNames,
    inputDims,
  });
}

main();
