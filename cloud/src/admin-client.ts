import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { codeForHttpStatus, FoglineError, urlSegment } from '@fogline/shared';
import { readAdminToken } from './auth/admin-token.ts';
import type {
  AuditRateBody,
  FleetFieldView,
  PinBody,
  PolicyChangeView,
  PolicyView,
} from './controller/policy-view-types.ts';
import type { DeploymentView } from './deployments/deployment-view.ts';
import type { ExampleView } from './http/routes/examples.ts';
import { MODEL_CONFIG_HEADER, type ModelVersionView } from './http/routes/model-store.ts';
import type { DeviceView, EdgeView } from './identities/identity-service.ts';
import { CLOUD_STATE_FILE, type CloudState, readStateFile } from './state-file.ts';

export type { DeploymentEdgeView, DeploymentView } from './deployments/deployment-view.ts';
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

export type {
  AuditRateBody,
  AuditRateView,
  EdgeFieldView,
  FleetFieldView,
  PinBody,
  PolicyChangeView,
  PolicyView,
  StageView,
  TierFieldView,
} from './controller/policy-view-types.ts';

export type { ExampleView } from './http/routes/examples.ts';

export interface ExamplePageView {
  examples: ExampleView[];
  scanned: number;
  skipped_no_input: number;
  next: number | null;
}

export interface DeployBody {
  model: string;
  version: number;
  edges: string[] | 'all';
  /** Share of the edges that go first, in (0, 1]. */
  canary?: number;
  canaryHealthyMs?: number;
  /** How long the canary edges have to report `active` before the deployment fails. */
  canaryTimeoutMs?: number;
  gate?: { minPaired?: number; maxDrop?: number; shadowMs?: number } | null;
  device?: { model: string; version: number } | null;
}

export interface AdminTarget {
  url: string;
  adminToken: string;
  /** CA certificate (PEM) trusted for an `https://` cloud besides the system CAs (`--tls-ca`). */
  ca?: string;
}

/** Flags win; what is missing is read from `<dataDir>/cloud.json` and `<dataDir>/admin-token`. */
export async function resolveAdminTarget(opts: {
  url?: string;
  adminToken?: string;
  dataDir: string;
  ca?: string;
}): Promise<AdminTarget> {
  const url = opts.url ?? (await readCloudState(opts.dataDir)).url;
  const adminToken = opts.adminToken ?? (await readAdminToken(opts.dataDir));
  return { url: url.replace(/\/+$/, ''), adminToken, ...(opts.ca !== undefined && { ca: opts.ca }) };
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
    return (await this.call('DELETE', `/api/keys/${urlSegment('key name', name)}`)) as KeyView;
  }

  /** Enrols an edge; `token` is shown only here (its MQTT password and HTTP credential). */
  async createEdge(id: string): Promise<EdgeView & { token: string }> {
    return (await this.call('POST', '/api/edges', { id })) as EdgeView & { token: string };
  }

  async listEdges(): Promise<EdgeView[]> {
    return ((await this.call('GET', '/api/edges')) as { edges: EdgeView[] }).edges;
  }

  async getEdge(id: string): Promise<EdgeView> {
    return (await this.call('GET', `/api/edges/${urlSegment('edge id', id)}`)) as EdgeView;
  }

  /** Revokes an edge: disconnected from the cloud broker, its token refused from the next request. */
  async revokeEdge(id: string): Promise<EdgeView> {
    return (await this.call('DELETE', `/api/edges/${urlSegment('edge id', id)}`)) as EdgeView;
  }

  /**
   * Enrols a device under `edgeId`, or with no edge (null: it connects to the cloud broker, which
   * plays its edge); `token` is shown only here. Its edge learns it by device-list sync, and so does
   * `standbyEdgeId`, a second edge it may fail over to (docs/scale-out.md "Failover").
   */
  async createDevice(
    id: string,
    edgeId: string | null,
    standbyEdgeId: string | null = null,
  ): Promise<DeviceView & { token: string }> {
    const body = { id, edge: edgeId, ...(standbyEdgeId !== null && { standbyEdge: standbyEdgeId }) };
    return (await this.call('POST', '/api/devices', body)) as DeviceView & { token: string };
  }

  async listDevices(edgeId?: string): Promise<DeviceView[]> {
    const query = edgeId === undefined ? '' : `?edge=${encodeURIComponent(edgeId)}`;
    return ((await this.call('GET', `/api/devices${query}`)) as { devices: DeviceView[] }).devices;
  }

  /** Revokes a device; its edge disconnects it within seconds (the cloud broker at once, if edgeless). */
  async revokeDevice(id: string): Promise<DeviceView> {
    return (await this.call('DELETE', `/api/devices/${urlSegment('device id', id)}`)) as DeviceView;
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
    const path = `/api/store/models/${urlSegment('model name', push.name)}/versions${query}`;
    const res = await this.send(path, {
      method: 'POST',
      headers,
      body: createReadStream(push.file),
      timeoutMs: 10 * 60_000,
    });
    const json = this.answer(res) as { version: ModelVersionView };
    return { version: json.version, created: res.status === 201 };
  }

  async modelVersions(name: string): Promise<ModelVersionView[]> {
    const path = `/api/store/models/${urlSegment('model name', name)}/versions`;
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

  /** Field accuracy and policy of every active edge (GET /api/field). */
  async field(): Promise<FleetFieldView> {
    return (await this.call('GET', '/api/field')) as FleetFieldView;
  }

  async policy(edgeId: string): Promise<PolicyView> {
    return (await this.call('GET', `/api/edges/${urlSegment('edge id', edgeId)}/policy`)) as PolicyView;
  }

  async policyChanges(edgeId: string, limit?: number): Promise<PolicyChangeView[]> {
    const q = limit === undefined ? '' : `?limit=${limit}`;
    const path = `/api/edges/${urlSegment('edge id', edgeId)}/policy/changes${q}`;
    return ((await this.call('GET', path)) as { changes: PolicyChangeView[] }).changes;
  }

  /** Sets `policy` as the edge's routing and pins it (the controller is off for the edge). */
  async pinPolicy(edgeId: string, policy: PinBody): Promise<PolicyView> {
    return (await this.call(
      'PUT',
      `/api/edges/${urlSegment('edge id', edgeId)}/policy`,
      policy,
    )) as PolicyView;
  }

  async unpinPolicy(edgeId: string): Promise<PolicyView> {
    return (await this.call(
      'DELETE',
      `/api/edges/${urlSegment('edge id', edgeId)}/policy/pin`,
    )) as PolicyView;
  }

  /** Sets the operator's audit rate of the edge's devices; null clears it (back to the edge's own). */
  async setAuditRate(edgeId: string, body: AuditRateBody | null): Promise<PolicyView> {
    const path = `/api/edges/${urlSegment('edge id', edgeId)}/policy/audit-rate`;
    return (await (body === null ? this.call('DELETE', path) : this.call('PUT', path, body))) as PolicyView;
  }

  /** Starts a rollout (`fogline deploy`); the body as docs/cloud.md "Deployments" says. */
  async deploy(body: DeployBody): Promise<DeploymentView> {
    return ((await this.call('POST', '/api/deployments', body)) as { deployment: DeploymentView }).deployment;
  }

  /** Deployments, newest first (`model`'s only when given), without their edges. */
  async deployments(model?: string): Promise<DeploymentView[]> {
    const q = model === undefined ? '' : `?model=${encodeURIComponent(model)}`;
    return ((await this.call('GET', `/api/deployments${q}`)) as { deployments: DeploymentView[] })
      .deployments;
  }

  /** One deployment with each edge's stage, state, progress and failure. */
  async deployment(id: string): Promise<DeploymentView> {
    const path = `/api/deployments/${urlSegment('deployment id', id)}`;
    return ((await this.call('GET', path)) as { deployment: DeploymentView }).deployment;
  }

  /** Rolls a deployment back: new deployments of the previous versions for the edges that moved. */
  async rollbackDeployment(id: string): Promise<{ rolledBack: DeploymentView; rollbacks: DeploymentView[] }> {
    const path = `/api/deployments/${urlSegment('deployment id', id)}/rollback`;
    return (await this.call('POST', path)) as { rolledBack: DeploymentView; rollbacks: DeploymentView[] };
  }

  /** One admin API call; non-2xx answers become FoglineErrors with the server's message. */
  protected async call(method: string, path: string, body?: unknown): Promise<unknown> {
    return this.answer(
      await this.send(path, {
        method,
        headers: { authorization: `Bearer ${this.target.adminToken}`, 'content-type': 'application/json' },
        ...(body !== undefined && { body: JSON.stringify(body) }),
      }),
    );
  }

  private async send(path: string, init: SendInit): Promise<SendAnswer> {
    try {
      return await send(new URL(`${this.target.url}${path}`), {
        ...init,
        ...(this.target.ca !== undefined && { ca: this.target.ca }),
      });
    } catch (cause) {
      const reason =
        (cause as NodeJS.ErrnoException).code?.startsWith('ERR_TLS') || /certificate/i.test(String(cause))
          ? `: ${(cause as Error).message} (a self-signed certificate? pass --tls-ca)`
          : ' (is "fogline cloud" running?)';
      throw new FoglineError('UNAVAILABLE', `cannot reach the cloud at ${this.target.url}${reason}`, {
        cause,
      });
    }
  }

  /** The JSON of an answer; non-2xx answers become FoglineErrors with the server's message. */
  private answer(res: SendAnswer): unknown {
    const { text } = res;
    let json: unknown;
    try {
      json = text.length > 0 ? JSON.parse(text) : {};
    } catch {
      json = { error: text.slice(0, 200) };
    }
    if (res.status < 200 || res.status > 299) {
      const message = (json as { error?: string }).error ?? `HTTP ${res.status}`;
      throw new FoglineError(codeForHttpStatus(res.status), message);
    }
    return json;
  }
}

interface SendInit {
  method: string;
  headers: Record<string, string>;
  /** JSON text, or a file streamed as the body. */
  body?: string | Readable;
  /** Deadline for the whole exchange; default 10 s. */
  timeoutMs?: number;
  ca?: string;
}

interface SendAnswer {
  status: number;
  text: string;
}

/** One HTTP(S) request within its deadline; node:https so that a CA of our own can be trusted. */
function send(url: URL, init: SendInit): Promise<SendAnswer> {
  const request = url.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: init.method,
        headers: init.headers,
        signal: AbortSignal.timeout(init.timeoutMs ?? 10_000),
        // A connection of its own, closed after the answer: a kept-alive socket would hold the CLI's exit.
        agent: false,
        ...(init.ca !== undefined && { ca: init.ca }),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (init.body instanceof Readable) {
      init.body.on('error', (err) => req.destroy(err));
      init.body.pipe(req);
    } else req.end(init.body);
  });
}
