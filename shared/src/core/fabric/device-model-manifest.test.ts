import { describe, expect, it } from 'vitest';
import {
  type DeviceModelManifest,
  encodeDeviceModelManifest,
  MAX_DEVICE_MODEL_BYTES,
  readDeviceModelManifest,
} from './device-model-manifest.ts';

const manifest: DeviceModelManifest = {
  edge: 'edge-a',
  model: 'digits-tiny',
  version: 2,
  sha256: 'a'.repeat(64),
  bytes: 36739,
  url: 'http://10.0.0.5:8091/device-models/digits-tiny/2/model.onnx',
  config_url: 'http://10.0.0.5:8091/device-models/digits-tiny/2/config.json',
};
const bytesOf = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));

describe('device model manifest', () => {
  it('round-trips what the edge publishes', () => {
    const reading = readDeviceModelManifest(encodeDeviceModelManifest(manifest), 'edge-a');
    expect(reading).toEqual({ ok: true, manifest });
  });

  it.each([
    [{ ...manifest, edge: 'edge-b' }, /for edge "edge-b"/],
    [{ ...manifest, sha256: 'A'.repeat(64) }, /sha256/],
    [{ ...manifest, version: 0 }, /version/],
    [{ ...manifest, bytes: MAX_DEVICE_MODEL_BYTES + 1 }, /more than a device model/],
    [{ ...manifest, url: 'file:///etc/passwd' }, /"url"/],
    [{ ...manifest, config_url: 'javascript:alert(1)' }, /config_url/],
    [{ ...manifest, model: '../x' }, /"model"/],
    [{ ...manifest, model: '..' }, /"model" must be a model name/],
    [{ ...manifest, model: '.' }, /"model" must be a model name/],
    [[manifest], /not a JSON object/],
  ])('refuses %j', (raw, reason) => {
    const reading = readDeviceModelManifest(bytesOf(raw), 'edge-a');
    expect(reading.ok).toBe(false);
    expect(reading.ok ? '' : reading.reason).toMatch(reason);
  });

  it('refuses what is not UTF-8 JSON, or too large, and never publishes what it would refuse', () => {
    expect(readDeviceModelManifest(new Uint8Array([0xff, 0x7b]), 'edge-a').ok).toBe(false);
    expect(readDeviceModelManifest(new Uint8Array(5000), 'edge-a').ok).toBe(false);
    expect(() => encodeDeviceModelManifest({ ...manifest, url: 'ftp://x' })).toThrow(/url/);
  });
});
