/**
 * The playground: draw a digit; the device model answers in the page (onnxruntime-web, WASM from the
 * cloud's /ort/); an uncertain drawing escalates over MQTT over WebSocket to the cloud broker under
 * the public demo identity (/playground/config.json), and the cloud's model answers.
 */
import '../style.css';
import { connectDevice, type Device, type InferResult } from '@fogline/device-sdk/browser';
import { inkToInput, paintPixels } from './ink.ts';

interface DemoConfig {
  deviceIdPrefix: string;
  token: string;
  edgeId: string;
  model: string;
  wsPath: string;
}

const $ = <T extends HTMLElement>(selector: string) => document.querySelector<T>(selector)!;
const pad = $<HTMLCanvasElement>('#pad');
const status = $('#status');
const ctx = pad.getContext('2d', { willReadFrequently: true })!;
let device: Device | undefined;

function clearPad(): void {
  ctx.fillStyle = '#000';
  ctx.fillRect(0, 0, pad.width, pad.height);
}

function draw(): void {
  let last: { x: number; y: number } | undefined;
  const at = (e: PointerEvent) => {
    const r = pad.getBoundingClientRect();
    return {
      x: ((e.clientX - r.left) / r.width) * pad.width,
      y: ((e.clientY - r.top) / r.height) * pad.height,
    };
  };
  pad.addEventListener('pointerdown', (e) => {
    pad.setPointerCapture(e.pointerId);
    last = at(e);
  });
  pad.addEventListener('pointermove', (e) => {
    if (!last) return;
    const p = at(e);
    ctx.strokeStyle = '#fff';
    ctx.lineWidth = 22;
    ctx.lineCap = 'round';
    ctx.lineJoin = 'round';
    ctx.beginPath();
    ctx.moveTo(last.x, last.y);
    ctx.lineTo(p.x, p.y);
    ctx.stroke();
    last = p;
  });
  const end = () => {
    if (last) void classify();
    last = undefined;
  };
  pad.addEventListener('pointerup', end);
  pad.addEventListener('pointercancel', end);
}

function show(r: InferResult): void {
  const result = $('#result');
  result.dataset.tier = r.tier;
  result.dataset.label = String(r.label);
  const answer = $('#answer');
  answer.textContent = r.labelName ?? String(r.label);
  answer.className = `answer tier-${r.tier}`;
  $('#tier').textContent = r.tier + (r.degraded ? ' (degraded)' : '');
  $('#tier').className = `tier-${r.tier}`;
  $('#score').textContent = r.score.toFixed(3);
  const ms = (v: number | undefined) => (v === undefined ? '—' : `${v.toFixed(1)} ms`);
  $('#lat-device').textContent = ms(r.latencyMs.device);
  $('#lat-upper').textContent = `${ms(r.latencyMs.edge)} / ${ms(r.latencyMs.cloud)}`;
  $('#lat-total').textContent = ms(r.latencyMs.total);
  const item = document.createElement('li');
  item.textContent = `${r.labelName ?? r.label} by ${r.tier}, score ${r.score.toFixed(2)}, ${ms(r.latencyMs.total)}`;
  $('#history').prepend(item);
}

async function classify(): Promise<void> {
  const input = inkToInput(pad);
  if (!input || !device) return;
  status.textContent = 'Thinking…';
  try {
    show(await device.infer(input, { deadlineMs: 3000 }));
    status.textContent = 'Draw another, or clear.';
  } catch (err) {
    const e = err as { code?: string; message?: string };
    status.textContent =
      e.code === 'RATE_LIMITED' ? 'Too many drawings for now: wait a moment.' : `Error: ${e.message}`;
  }
}

async function start(): Promise<void> {
  clearPad();
  draw();
  $('#clear').addEventListener('click', clearPad);
  $('#classify').addEventListener('click', () => void classify());
  const res = await fetch('/playground/config.json');
  if (!res.ok) {
    status.textContent =
      'The playground is off on this cloud: it needs `fogline cloud --demo` (or `fogline up`) and the digits models.';
    return;
  }
  const config = (await res.json()) as DemoConfig;
  const random = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) =>
    b.toString(16).padStart(2, '0'),
  ).join('');
  device = await connectDevice({
    broker: `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}${config.wsPath}`,
    deviceId: `${config.deviceIdPrefix}${random}`,
    token: config.token,
    edgeId: config.edgeId,
    model: new URL(config.model, location.href),
    web: { wasmPaths: '/ort/' },
  });
  status.textContent = 'Ready: draw a digit.';
  document.body.dataset.ready = 'true';
}

// For tests and demos: paint a 28×28 digit (values in [0, 1]) and classify it.
(window as unknown as { playground: object }).playground = {
  paint: (pixels: number[]) => {
    clearPad();
    paintPixels(pad, pixels);
  },
  classify,
};

start().catch((err: Error) => {
  status.textContent = `Could not start: ${err.message}`;
});
