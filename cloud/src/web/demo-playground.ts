/**
 * The playground's demo identity (docs/dashboard.md "Playground"), on a cloud started with `--demo`
 * (`fogline up` does): anyone may connect to the cloud broker as `playground-<8 to 32 letters or
 * digits>` with the public token below. Like any device enrolled with no edge, it may publish only on
 * `edge/cloud/infer`, answered by the cloud model, and read only its own replies; on top of that its
 * requests pass a per-visitor (per client id) and a global token bucket, so the public token cannot
 * take the cloud model from anyone else.
 *
 *   GET /playground/config.json                                → what the page connects with
 *   GET /playground/models/{device model}/config.json          → the device model's config
 *   GET /playground/models/{device model}/{version}/model.onnx → the device model, for onnxruntime-web
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  CLOUD_EDGE_ID,
  type Clock,
  FoglineError,
  type Identity,
  systemClock,
  TokenBucket,
} from '@fogline/shared';
import { loadModelEntry, type ModelEntry } from '@fogline/shared/model-repository';
import type { Hono } from 'hono';

export const DEMO_DEVICE_PREFIX = 'playground-';
/** Public by design: printed in the page, documented. Only demo client ids may use it. */
export const DEMO_TOKEN = 'fgd_playground_public_demo';
const DEMO_CLIENT_ID = /^playground-[A-Za-z0-9]{8,32}$/;

export interface DemoSettings {
  /** The model the page runs itself (a device-tier model of the repository). */
  deviceModel: string;
  /** Per visitor (client id): requests/s and burst. */
  visitor: { ratePerSec: number; burst: number };
  /** All visitors together. */
  global: { ratePerSec: number; burst: number };
}

export const DEFAULT_DEMO_SETTINGS: Readonly<DemoSettings> = Object.freeze({
  deviceModel: 'digits-tiny',
  visitor: Object.freeze({ ratePerSec: 2, burst: 6 }),
  global: Object.freeze({ ratePerSec: 20, burst: 40 }),
});

/** Visitors' buckets kept at most; the oldest goes first (a visitor past it starts a fresh bucket). */
const MAX_VISITORS = 10_000;

export class DemoPlayground {
  private readonly visitors = new Map<string, TokenBucket>();
  private readonly global: TokenBucket;
  /** Requests refused by either bucket. */
  refused = 0;

  constructor(
    readonly settings: DemoSettings,
    private readonly modelsDir: string,
    private readonly clock: Clock = systemClock,
  ) {
    this.global = new TokenBucket({ ...settings.global, clock });
  }

  /** The broker identity of a demo client, or null (not a demo client id, or not the demo token). */
  identity(clientId: string, token: string): Identity | null {
    if (!DEMO_CLIENT_ID.test(clientId) || token !== DEMO_TOKEN) return null;
    return { kind: 'device', id: clientId, edgeId: CLOUD_EDGE_ID };
  }

  isDemoDevice(deviceId: string): boolean {
    return DEMO_CLIENT_ID.test(deviceId);
  }

  /** Takes one request of `deviceId` from its bucket and the global one, or throws RATE_LIMITED. */
  admit(deviceId: string): void {
    if (!this.isDemoDevice(deviceId)) return;
    let bucket = this.visitors.get(deviceId);
    if (!bucket) {
      bucket = new TokenBucket({ ...this.settings.visitor, clock: this.clock });
      this.visitors.set(deviceId, bucket);
      for (const old of this.visitors.keys()) {
        if (this.visitors.size <= MAX_VISITORS) break;
        this.visitors.delete(old);
      }
    }
    for (const [which, b] of [
      ['this visitor', bucket],
      ['the playground', this.global],
    ] as const) {
      const taken = b.tryTake();
      if (!taken.ok) {
        this.refused++;
        throw new FoglineError('RATE_LIMITED', `${which} is over its rate of ${b.ratePerSec}/s`, {
          details: { retryAfterMs: taken.retryAfterMs },
        });
      }
    }
  }

  register(app: Hono, wsPath: string): void {
    const name = this.settings.deviceModel;
    app.get('/playground/config.json', async (c) => {
      const entry = await this.model();
      return c.json(
        {
          deviceIdPrefix: DEMO_DEVICE_PREFIX,
          token: DEMO_TOKEN,
          edgeId: CLOUD_EDGE_ID,
          model: `/playground/models/${name}/${entry.latestVersion}/model.onnx`,
          wsPath,
        },
        200,
        { 'cache-control': 'no-cache' },
      );
    });
    app.get(`/playground/models/${name}/config.json`, async (c) => {
      const body = await readFile(join((await this.model()).dir, 'config.json'));
      return c.body(body, 200, { 'content-type': 'application/json', 'cache-control': 'no-cache' });
    });
    app.get(`/playground/models/${name}/:version/model.onnx`, async (c) => {
      const entry = await this.model();
      const version = Number(c.req.param('version'));
      if (!entry.versions.includes(version)) {
        throw new FoglineError('NOT_FOUND', `model ${name} has no version ${c.req.param('version')}`);
      }
      return c.body(await readFile(entry.modelPath(version)), 200, {
        'content-type': 'application/octet-stream',
        'cache-control': 'public, max-age=3600',
      });
    });
  }

  /** The device model, or NOT_FOUND without the server's paths (anyone may ask). */
  private async model(): Promise<ModelEntry> {
    try {
      return await loadModelEntry(this.modelsDir, this.settings.deviceModel);
    } catch (cause) {
      throw new FoglineError('NOT_FOUND', `the playground's model is not served here`, { cause });
    }
  }
}
