import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { codeForHttpStatus, FoglineError } from '@fogline/shared';
import { readAdminToken } from './auth/admin-token.ts';
import { CLOUD_STATE_FILE, type CloudState } from './cloud-server.ts';
import type { ExampleView } from './http/routes/examples.ts';
import { MODEL_CONFIG_HEADER, type ModelVersionView } from './http/routes/model-store.ts';
import type { DeviceView, EdgeView } from './identities/identity-service.ts';
import { readStateFile } from './state-file.ts';

export type { ModelVersionView } from './http/routes/model-store.ts';
export type { DeviceView, EdgeView } from './identities/identity-service.ts';

export interface KeyView {
  name: string;
  keyPrefix: string;
  ratePerSec: number;
  burst: number;
  createdAt: string;
  revokedAt: string | null;
}

export type { ExampleView } from './http/routes/examples.ts';

export interface ExamplePageView {
  examples: ExampleView[];
  scanned: number;
  skipped_no_input: number;
  next: number | null;
}

export interface AdminTarget {
  url: string;
  adminToken: string;
}

/** Flags win; what is missing is read from `<dataDir>/cloud.json` and `<dataDir>/admin-token`. */
export async function resolveAdminTarget(opts: {
  url?: string;
  adminToken?: string;
  dataDir: string;
}): Promise<AdminTarget> {
  const url = opts.url ?? (await readCloudState(opts.dataDir)).url;
  const adminToken = opts.adminToken ?? (await readAdminToken(opts.dataDir));
  return { url: url.replace(/\/+$/, ''), adminToken };
}

export async function readCloudState(dataDir: string): Promise<CloudState> {
  const path = join(dataDir, CLOUD_STATE_FILE);
  const text = await readStateFile(path, 'no running cloud recorded: start "fogline cloud" or pass --url');
  try {
    const state = JSON.parse(text) as CloudState;
    if (typeof state.url !== 'string') throw new Error('url missing');
    return state;
  } catch (cause) {
    throw new FoglineError('INTERNAL', `${path} is not a valid cloud state file`, { cause });
  }
}

export class CloudAdminClient {
  constructor(private readonly target: AdminTarget) {}

  async listKeys(): Promise<KeyView[]> {
    return ((await this.call('GET', '/api/keys')) as { keys: KeyView[] }).keys;
  }

  async createKey(name: string, ratePerSec: number, burst: number): Promise<KeyView & { key: string }> {
    return (await this.call('POST', '/api/keys', { name, ratePerSec, burst })) as KeyView & { key: string };
  }

  async revokeKey(name: string): Promise<KeyView> {
    return (await this.call('DELETE', `/api/keys/${encodeURIComponent(name)}`)) as KeyView;
  }

  /** Enrols an edge; `token` is shown only here (its MQTT password and HTTP credential). */
  async createEdge(id: string): Promise<EdgeView & { token: string }> {
    return (await this.call('POST', '/api/edges', { id })) as EdgeView & { token: string };
  }

  async listEdges(): Promise<EdgeView[]> {
    return ((await this.call('GET', '/api/edges')) as { edges: EdgeView[] }).edges;
  }

  async getEdge(id: string): Promise<EdgeView> {
    return (await this.call('GET', `/api/edges/${encodeURIComponent(id)}`)) as EdgeView;
  }

  /** Revokes an edge: disconnected from the cloud broker, its token refused from the next request. */
  async revokeEdge(id: string): Promise<EdgeView> {
    return (await this.call('DELETE', `/api/edges/${encodeURIComponent(id)}`)) as EdgeView;
  }

  /**
   * Enrols a device under `edgeId`, or with no edge (null: it connects to the cloud broker, which
   * plays its edge); `token` is shown only here. Its edge learns it by device-list sync.
   */
  async createDevice(id: string, edgeId: string | null): Promise<DeviceView & { token: string }> {
    return (await this.call('POST', '/api/devices', { id, edge: edgeId })) as DeviceView & { token: string };
  }

  async listDevices(edgeId?: string): Promise<DeviceView[]> {
    const query = edgeId === undefined ? '' : `?edge=${encodeURIComponent(edgeId)}`;
    return ((await this.call('GET', `/api/devices${query}`)) as { devices: DeviceView[] }).devices;
  }

  /** Revokes a device; its edge disconnects it within seconds (the cloud broker at once, if edgeless). */
  async revokeDevice(id: string): Promise<DeviceView> {
    return (await this.call('DELETE', `/api/devices/${encodeURIComponent(id)}`)) as DeviceView;
  }

  /**
   * Pushes a model file to the model store (`fogline models push`): streamed from `file`, with
   * config.json (or none: the model's newest stored config). `created` is false when name@version
   * already held these bytes.
   */
  async pushModel(push: {
    name: string;
    file: string;
    version?: number;
    config?: unknown;
  }): Promise<{ version: ModelVersionView; created: boolean }> {
    const query = push.version === undefined ? '' : `?version=${push.version}`;
    const headers: Record<string, string> = {
      authorization: `Bearer ${this.target.adminToken}`,
      'content-type': 'application/octet-stream',
      'content-length': String((await stat(push.file)).size),
    };
    if (push.config !== undefined) {
      headers[MODEL_CONFIG_HEADER] = Buffer.from(JSON.stringify(push.config)).toString('base64url');
    }
    const path = `/api/store/models/${encodeURIComponent(push.name)}/versions${query}`;
    const res = await this.send(path, {
      method: 'POST',
      headers,
      body: Readable.toWeb(createReadStream(push.file)) as ReadableStream,
      duplex: 'half',
      signal: AbortSignal.timeout(10 * 60_000),
    } as RequestInit);
    const json = (await this.answer(res)) as { version: ModelVersionView };
    return { version: json.version, created: res.status === 201 };
  }

  async modelVersions(name: string): Promise<ModelVersionView[]> {
    const path = `/api/store/models/${encodeURIComponent(name)}/versions`;
    return ((await this.call('GET', path)) as { versions: ModelVersionView[] }).versions;
  }

  /** One page of hard examples (`GET /api/examples`); follow `next` until null. */
  async hardExamples(query: {
    since?: Date;
    edge?: string;
    after?: number;
    scan?: number;
    lowScore?: number;
  }): Promise<ExamplePageView> {
    const params = new URLSearchParams();
    if (query.since) params.set('since', query.since.toISOString());
    if (query.edge !== undefined) params.set('edge', query.edge);
    if (query.after !== undefined) params.set('after', String(query.after));
    if (query.scan !== undefined) params.set('scan', String(query.scan));
    if (query.lowScore !== undefined) params.set('low_score', String(query.lowScore));
    return (await this.call('GET', `/api/examples?${params}`)) as ExamplePageView;
  }

  /** One admin API call; non-2xx answers become FoglineErrors with the server's message. */
  protected async call(method: string, path: string, body?: unknown): Promise<unknown> {
    const res = await this.send(path, {
      method,
      headers: { authorization: `Bearer ${this.target.adminToken}`, 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(10_000),
    });
    return this.answer(res);
  }

  private async send(path: string, init: RequestInit): Promise<Response> {
    try {
      return await fetch(`${this.target.url}${path}`, init);
    } catch (cause) {
      throw new FoglineError(
        'UNAVAILABLE',
        `cannot reach the cloud at ${this.target.url} (is "fogline cloud" running?)`,
        { cause },
      );
    }
  }

  /** The JSON of an answer; non-2xx answers become FoglineErrors with the server's message. */
  private async answer(res: Response): Promise<unknown> {
    const text = await res.text();
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      json = { error: text.slice(0, 200) };
    }
    if (!res.ok) {
      const message = (json as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new FoglineError(codeForHttpStatus(res.status), message);
    }
    return json;
  }
}
