/**
 * The page the browser device tests load (test/browser-device.test.ts): the script bundled for it,
 * what it puts on `window`, and the content types its HTTP server sends.
 */
export const TYPES: Record<string, string> = {
  '.js': 'text/javascript',
  '.mjs': 'text/javascript',
  '.wasm': 'application/wasm',
  '.json': 'application/json',
  '.onnx': 'application/octet-stream',
  '.html': 'text/html',
};

/** What the page script puts on `window`. */
export interface PageApi {
  runDevice(
    options: object,
    pixels: readonly number[],
  ): Promise<{
    tier: string;
    label: number;
    labelName: string | undefined;
    outputKind: string;
    degraded: boolean;
    logits: number;
    policy: { score: string };
    feedback: { given: boolean; sent: number };
  }>;
  runModel(options: object, modelPath: string, input: PageInput): Promise<PageAnswer>;
  tryBadToken(options: object): Promise<string>;
  runUpdate(
    options: object,
    pixels: readonly number[],
  ): Promise<{ event: Record<string, string>; modelVersions: string; tier: string; model: string }>;
}

/** Prepared values, or raw RGBA pixels as a canvas gives them (sent as plain arrays). */
export type PageInput = { values: number[] } | { rgba: number[]; width: number; height: number };

export interface PageAnswer {
  tier: string;
  label: number;
  labelName: string | undefined;
  outputKind: string;
  logits: number[];
}

/** The page script: the browser entry, exposed as window.runDevice. */
export const PAGE_SCRIPT = `
import { connectDevice } from '@fogline/device-sdk/browser';
window.runDevice = async (options, pixels) => {
  const device = await connectDevice({ ...options, model: new URL('/models/digits-tiny/1/model.onnx', location.href), web: { wasmPaths: '/ort/' } });
  try {
    const r = await device.infer(Float32Array.from(pixels), { deadlineMs: 5000 });
    // Ground truth by label name, sent on the report lane a macrotask later.
    const given = device.feedback(r.requestId, '3');
    for (let i = 0; i < 100 && device.stats().feedback.sent === 0; i++) await new Promise((ok) => setTimeout(ok, 10));
    const feedback = { given, sent: device.stats().feedback.sent };
    return { tier: r.tier, label: r.label, labelName: r.labelName, outputKind: r.outputKind, degraded: r.degraded, logits: r.outputs.logits.length, policy: device.policy, feedback };
  } finally {
    await device.close();
  }
};
window.runModel = async (options, modelPath, input) => {
  const device = await connectDevice({ ...options, model: new URL(modelPath, location.href), web: { wasmPaths: '/ort/' } });
  try {
    const r = await device.infer(
      input.values
        ? Float32Array.from(input.values)
        : { image: { data: Uint8ClampedArray.from(input.rgba), width: input.width, height: input.height, channels: 4 } },
      { deadlineMs: 5000 },
    );
    return { tier: r.tier, label: r.label, labelName: r.labelName, outputKind: r.outputKind, logits: Array.from(r.outputs.logits) };
  } finally {
    await device.close();
  }
};
window.runUpdate = async (options, pixels) => {
  const device = await connectDevice({ ...options, model: new URL('/models/digits-tiny/1/model.onnx', location.href), web: { wasmPaths: '/ort/' } });
  try {
    const event = await new Promise((ok) => {
      device.on('model', (e) => ok({ kind: 'model', model: e.model, previous: e.previous }));
      device.on('modelError', (e) => ok({ kind: 'modelError', model: e.model, current: e.current, message: e.error.message }));
      setTimeout(() => ok({ kind: 'none' }), 30000);
    });
    const r = await device.infer(Float32Array.from(pixels), { deadlineMs: 5000 });
    return { event, modelVersions: r.modelVersions, tier: r.tier, model: device.model };
  } finally {
    await device.close();
  }
};
window.tryBadToken = (options) => connectDevice({ ...options, model: new URL('/models/digits-tiny/1/model.onnx', location.href), web: { wasmPaths: '/ort/' } })
  .then(() => 'connected', (e) => e.code + ': ' + e.message);
`;
