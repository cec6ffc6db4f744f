/**
 * Calls to the cloud's admin API with the session cookie (HttpOnly: the page never sees it, nor the
 * admin token after login). A 401 means the session ended: the caller shows the login form.
 */
import type {
  DeploymentRequest,
  DeploymentView,
  ModelIndexEntry,
  ModelReportsView,
  StoreVersionView,
} from './types.ts';

export class Unauthenticated extends Error {}

/** Any other refusal, with its HTTP status (404: the cloud has no such endpoint or thing). */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export async function api<T>(path: string, init: RequestInit = {}): Promise<T> {
  const headers = new Headers(init.headers);
  if (init.body !== undefined) headers.set('content-type', 'application/json');
  const res = await fetch(path, { ...init, headers, credentials: 'same-origin' });
  if (res.status === 401) throw new Unauthenticated(await errorText(res));
  if (!res.ok) throw new ApiError(res.status, await errorText(res));
  if (res.status === 204) return undefined as T;
  return (await res.json()) as T;
}

/** The versions the cloud serves (`POST /v2/repository/index`). */
export const servedModels = () =>
  api<ModelIndexEntry[]>('/v2/repository/index', { method: 'POST', body: '{}' });

/** The model store's versions of `name` (`GET /api/store/models/{name}/versions`). */
export const storeVersions = async (name: string) =>
  (await api<{ versions: StoreVersionView[] }>(`/api/store/models/${encodeURIComponent(name)}/versions`))
    .versions;

/**
 * A served model's precision per version and its quantization and calibration reports; null when
 * the cloud has none for it (404: not in its model repository, or a cloud without the endpoint).
 */
export async function modelReports(name: string): Promise<ModelReportsView | null> {
  try {
    return await api<ModelReportsView>(`/api/models/${encodeURIComponent(name)}/reports`);
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/**
 * Deployments (F8, docs/cloud.md "Deployments"), newest first; null when the cloud has no
 * deployments API (404: a cloud from before F8).
 */
export async function listDeployments(model?: string): Promise<DeploymentView[] | null> {
  const query = model === undefined ? '' : `?model=${encodeURIComponent(model)}`;
  try {
    return (await api<{ deployments: DeploymentView[] }>(`/api/deployments${query}`)).deployments;
  } catch (err) {
    if (err instanceof ApiError && err.status === 404) return null;
    throw err;
  }
}

/** One deployment with its edges: stage, state, progress, failure. */
export const deployment = async (id: string) =>
  (await api<{ deployment: DeploymentView }>(`/api/deployments/${encodeURIComponent(id)}`)).deployment;

/** Starts a deployment; the cloud checks the request (400 with the reason). */
export const startDeployment = async (request: DeploymentRequest) =>
  (
    await api<{ deployment: DeploymentView }>('/api/deployments', {
      method: 'POST',
      body: JSON.stringify(request),
    })
  ).deployment;

/** Rolls a deployment back: new deployments of the previous versions. */
export const rollbackDeployment = (id: string) =>
  api<{ rolledBack: DeploymentView; rollbacks: DeploymentView[] }>(
    `/api/deployments/${encodeURIComponent(id)}/rollback`,
    { method: 'POST', body: '{}' },
  );

async function errorText(res: Response): Promise<string> {
  try {
    const body = (await res.json()) as { error?: unknown };
    if (typeof body.error === 'string') return body.error;
  } catch {}
  return `${res.status} ${res.statusText}`;
}

/** Text for an element, escaped: every value from the API goes through here or textContent. */
export function esc(value: unknown): string {
  return String(value ?? '').replace(
    /[&<>"']/g,
    (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c,
  );
}

/** "12 s ago", "3 min ago", or "never". */
export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return 'never';
  const s = Math.max(0, Math.round((now - Date.parse(iso)) / 1000));
  if (s < 90) return `${s} s ago`;
  if (s < 90 * 60) return `${Math.round(s / 60)} min ago`;
  return `${Math.round(s / 3600)} h ago`;
}
