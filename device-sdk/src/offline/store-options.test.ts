/**
 * The `offline: { store: 'file' }` option: checked at connect time (a `dir` that is a symbolic link
 * included, with the real onnxruntime-node runtime loaded before it), and refused by the browser entry.
 */
import { mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { connectDevice as connectBrowserDevice } from '../browser.ts';
import { resolveDeviceSettings } from '../device-options.ts';
import { connectDevice } from '../index.ts';

const base = { broker: 'mqtt://127.0.0.1:1', deviceId: 'dev-1', edgeId: 'edge-a' };

describe("offline: { store: 'file' }", () => {
  it('takes its defaults and keeps in-flight requests on the local fallback', () => {
    const settings = resolveDeviceSettings({ ...base, offline: { store: 'file', dir: '/tmp/q' } });
    expect(settings.offline).toBe('local');
    expect(settings.store).toMatchObject({ dir: '/tmp/q', maxBytes: 64 * 1024 * 1024, ttlMs: 86_400_000 });
    expect(resolveDeviceSettings(base).store).toBeUndefined();
  });

  it.each([
    [{ store: 'sqlite', dir: '/tmp/q' }, /offline must be 'local', 'queue' or \{ store: 'file', dir \}/],
    [{ store: 'file' }, /offline\.dir must be a non-empty string/],
    [{ store: 'file', dir: '/tmp/q', maxBytes: 0 }, /offline\.maxBytes must be/],
    [{ store: 'file', dir: '/tmp/q', ttlMs: -1 }, /offline\.ttlMs must be/],
    [{ store: 'file', dir: '/tmp/q', onAnswer: 'log' }, /offline\.onAnswer must be a function/],
  ])('refuses %j with INVALID_ARG', (offline, message) => {
    expect(() => resolveDeviceSettings({ ...base, offline: offline as never })).toThrow(message);
  });

  it('is Node only: the browser entry refuses it before loading anything', async () => {
    await expect(
      connectBrowserDevice({
        ...base,
        broker: 'ws://127.0.0.1:1/mqtt',
        model: 'http://127.0.0.1:1/models/digits-tiny/1/model.onnx',
        offline: { store: 'file', dir: '/tmp/q' },
      }),
    ).rejects.toMatchObject({ code: 'INVALID_ARG', message: expect.stringMatching(/Node only/) });
  });

  it('connectDevice refuses a dir that is a symbolic link with INVALID_ARG, writing nothing where it points', async () => {
    const root = mkdtempSync(join(tmpdir(), 'fogline-store-link-'));
    try {
      const target = join(root, 'elsewhere');
      mkdirSync(target, { mode: 0o700 });
      symlinkSync(target, join(root, 'queue'));
      await expect(
        connectDevice({
          ...base,
          connectTimeoutMs: 200,
          offline: { store: 'file', dir: join(root, 'queue') },
        }),
      ).rejects.toMatchObject({
        code: 'INVALID_ARG',
        message: expect.stringMatching(/\(offline\.dir\) is a symbolic link/),
      });
      expect(readdirSync(target)).toEqual([]);
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
