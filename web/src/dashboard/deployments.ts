/**
 * Deployments (F8): the newest deployments with each edge's state and download progress, a form to
 * start one (model, version, edges, canary share, healthy time, canary timeout, accuracy gate) and a rollback
 * button. State changes go through api() like every action: the session cookie, and the browser's
 * Origin header that the cloud checks. A cloud without the API (404) shows "deployments not available".
 */
import { deployment, esc, listDeployments, rollbackDeployment, startDeployment } from './api.ts';
import type { DeploymentEdgeView, DeploymentRequest, DeploymentView, StoreVersionView } from './types.ts';

/** How many deployments are shown with their edges. */
const DETAILED = 5;

export class DeploymentsPanel {
  private message = '';

  constructor(
    private readonly root: HTMLElement,
    private readonly reload: () => Promise<void>,
  ) {}

  /** Renders the form once (typing is not interrupted by a refresh), the deployments every time. */
  async refresh(versions: StoreVersionView[]): Promise<void> {
    const list = await listDeployments();
    if (list === null) {
      this.root.innerHTML = `<div class="card" id="deployments-unavailable"><h2>Deployments</h2>
        <p class="muted">deployments not available: this cloud has no deployments API (F8).</p></div>`;
      return;
    }
    const detailed = await Promise.all(list.slice(0, DETAILED).map((d) => deployment(d.id)));
    if (!this.root.querySelector('#deploy-form')) {
      this.root.innerHTML = `<div class="card" id="deployments"></div>
        <div class="card section"><h2>Start a deployment</h2>${form(versions)}
        <p id="deploy-message" class="muted" role="status"></p></div>`;
      this.root.querySelector<HTMLFormElement>('#deploy-form')!.addEventListener('submit', (e) => {
        e.preventDefault();
        void this.act(async () => {
          const d = await startDeployment(readForm(e.target as HTMLFormElement));
          return `Started ${d.id}: ${d.model} v${d.version}.`;
        });
      });
      this.root.querySelector('#deployments')!.addEventListener('click', (e) => {
        const id = (e.target as HTMLElement).closest<HTMLButtonElement>('button[data-rollback]')?.dataset
          .rollback;
        if (id === undefined) return;
        void this.act(async () => {
          const r = await rollbackDeployment(id);
          return `Rolled back ${id}: ${r.rollbacks.length} edge model(s) back to their previous version.`;
        });
      });
    }
    const message = this.root.querySelector('#deploy-message')!;
    message.textContent = this.message;
    message.className = this.message.startsWith('Refused') ? 'error' : 'muted';
    this.root.querySelector('#deployments')!.innerHTML = `<h2>Deployments</h2>${
      detailed.length ? detailed.map(deploymentCard).join('') : '<p class="muted">none yet</p>'
    }${list.length > DETAILED ? `<p class="muted">and ${list.length - DETAILED} older</p>` : ''}`;
  }

  private async act(work: () => Promise<string>): Promise<void> {
    try {
      this.message = await work();
    } catch (err) {
      this.message = `Refused: ${err instanceof Error ? err.message : String(err)}`;
    }
    await this.reload();
  }
}

function form(versions: StoreVersionView[]): string {
  const models = [...new Set(versions.filter((v) => v.tier !== 'cloud').map((v) => v.model))];
  const options = models.map((m) => `<option>${esc(m)}</option>`).join('');
  return `<form id="deploy-form" class="deploy-form">
    <label>model <input name="model" list="deploy-models" required size="16" /></label>
    <datalist id="deploy-models">${options}</datalist>
    <label>version <input name="version" type="number" min="1" step="1" required style="width:70px" /></label>
    <label>edges <input name="edges" value="all" required size="18" title="all, or edge ids separated by commas" /></label>
    <label>canary % <input name="canary" type="number" min="1" max="100" value="10" style="width:70px" /></label>
    <label>healthy for (s) <input name="healthy" type="number" min="0" value="60" style="width:80px" /></label>
    <label>canary timeout (min) <input name="timeout" type="number" step="any" placeholder="10" style="width:80px"
      title="how long the canary edges have to report active; empty: the cloud's default (10 min)" /></label>
    <label>accuracy gate <select name="gate"><option value="on">on (defaults)</option><option value="off">off</option></select></label>
    <button type="submit">Deploy</button></form>`;
}

/** Longest canary timeout the cloud takes (deployment-request.ts: 7 days), in minutes. */
const MAX_TIMEOUT_MIN = 7 * 24 * 60;

function readForm(f: HTMLFormElement): DeploymentRequest {
  const data = new FormData(f);
  const text = (name: string) => String(data.get(name) ?? '').trim();
  const edges = text('edges');
  const timeout = text('timeout');
  return {
    model: text('model'),
    version: Number(text('version')),
    edges: edges === 'all' ? 'all' : edges.split(/[\s,]+/).filter(Boolean),
    canary: Number(text('canary')) / 100,
    canaryHealthyMs: Math.round(Number(text('healthy')) * 1000),
    // Empty: the cloud's default.
    ...(timeout !== '' && { canaryTimeoutMs: timeoutMs(timeout) }),
    gate: text('gate') === 'on' ? {} : null,
  };
}

/** The canary timeout field (minutes) in ms; throws, with the field's name, outside (0, 7 days]. */
function timeoutMs(minutes: string): number {
  const n = Number(minutes);
  const ms = Math.round(n * 60_000);
  if (!Number.isFinite(n) || ms < 1 || n > MAX_TIMEOUT_MIN) {
    throw new Error(`canary timeout must be more than 0 and at most ${MAX_TIMEOUT_MIN} min (7 days)`);
  }
  return ms;
}

function deploymentCard(d: DeploymentView): string {
  const finished = d.state === 'rolled_back' || d.state === 'failed';
  const edges = (d.edges ?? []).map(edgeRow).join('');
  return `<div class="deployment" data-deployment="${esc(d.id)}">
    <div class="toolbar" style="margin:12px 0 4px"><strong>${esc(d.model)} v${d.version}</strong>
      <span class="pill ${stateClass(d.state)}" data-state="${esc(d.state)}">${esc(d.state)}</span>
      <span class="muted">${esc(d.id)} · canary ${(d.canary * 100).toFixed(0)} % ·
        <span class="canary-timeout">timeout ${+(d.canaryTimeoutMs / 60_000).toFixed(2)} min</span> · gate ${d.gate ? 'on' : 'off'} ·
        <code title="${esc(d.sha256)}">${esc(d.sha256.slice(0, 12))}…</code> · ${esc(d.createdAt.slice(0, 19).replace('T', ' '))}</span>
      ${finished ? '' : `<button type="button" class="ghost" data-rollback="${esc(d.id)}">Roll back</button>`}</div>
    ${d.reason ? `<p class="muted">${esc(d.reason)}</p>` : ''}
    <table><thead><tr><th>edge</th><th>stage</th><th>state</th><th>progress</th><th>failure</th></tr></thead>
    <tbody>${edges || '<tr><td colspan="5" class="muted">no edges</td></tr>'}</tbody></table></div>`;
}

function edgeRow(e: DeploymentEdgeView): string {
  const total = e.totalBytes ?? 0;
  const got = e.receivedBytes ?? (e.state === 'active' ? total : 0);
  const share = total > 0 ? Math.min(1, got / total) : e.state === 'active' ? 1 : 0;
  const failure =
    e.failure === null
      ? ''
      : typeof e.failure === 'string'
        ? e.failure
        : `${e.failure.kind}: ${e.failure.message}`;
  return `<tr data-edge="${esc(e.edge)}"><td>${esc(e.edge)}</td><td>${esc(e.stage)}</td>
    <td><span class="pill ${stateClass(e.state)}" data-state="${esc(e.state)}">${esc(e.state)}</span></td>
    <td><span class="progress" role="progressbar" aria-valuenow="${Math.round(share * 100)}" aria-valuemin="0" aria-valuemax="100"><i style="width:${(share * 100).toFixed(0)}%"></i></span>
      <span class="muted">${total > 0 ? `${kib(got)} / ${kib(total)} KiB` : '—'}</span></td>
    <td class="error">${esc(failure)}</td></tr>`;
}

const kib = (bytes: number) => (bytes / 1024).toFixed(0);

function stateClass(state: string): string {
  if (state === 'active' || state === 'done') return 'online';
  if (state === 'failed' || state === 'rolled_back') return 'offline';
  return 'warn';
}
