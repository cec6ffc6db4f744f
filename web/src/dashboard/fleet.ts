/**
 * Fleet: every edge with its presence (online/offline, last seen), device count, model versions
 * active (reported) and desired (published, with what the edge reports still pending), breaker state
 * and drift alarm; a click lists the edge's devices;
 * the search box filters by edge id or device id.
 */
import { ago, api, esc } from './api.ts';
import type { DeviceView, EdgeView } from './types.ts';

const versions = (m: Record<string, number> | undefined) =>
  m && Object.keys(m).length > 0
    ? Object.entries(m)
        .map(([name, v]) => `${esc(name)}:${esc(v)}`)
        .join(', ')
    : '—';

export class FleetView {
  private edges: EdgeView[] = [];
  private devices: DeviceView[] = [];
  private readonly open = new Set<string>();
  private query = '';
  private readonly table: HTMLElement;
  private readonly summary: HTMLElement;

  constructor(root: HTMLElement) {
    root.innerHTML = `
      <div class="toolbar">
        <h1 style="margin:0">Fleet</h1>
        <input id="fleet-search" type="search" placeholder="Search edges and devices" aria-label="search" />
        <span id="fleet-summary" class="muted"></span>
      </div>
      <div class="card" style="padding:0"><table id="fleet-table"></table></div>`;
    this.table = root.querySelector('#fleet-table')!;
    this.summary = root.querySelector('#fleet-summary')!;
    root.querySelector<HTMLInputElement>('#fleet-search')!.addEventListener('input', (e) => {
      this.query = (e.target as HTMLInputElement).value.trim().toLowerCase();
      this.render();
    });
    this.table.addEventListener('click', (e) => {
      const row = (e.target as HTMLElement).closest<HTMLElement>('tr.edge-row');
      const id = row?.dataset.edge;
      if (id === undefined) return;
      if (this.open.has(id)) this.open.delete(id);
      else this.open.add(id);
      this.render();
    });
  }

  async refresh(): Promise<void> {
    const [{ edges }, { devices }] = await Promise.all([
      api<{ edges: EdgeView[] }>('/api/edges'),
      api<{ devices: DeviceView[] }>('/api/devices'),
    ]);
    this.edges = edges.filter((e) => e.revokedAt === null);
    this.devices = devices.filter((d) => d.revokedAt === null);
    this.render();
  }

  private render(): void {
    const q = this.query;
    const devicesOf = (edge: string) => this.devices.filter((d) => d.edge === edge);
    const shown = this.edges.filter(
      (e) =>
        !q || e.id.toLowerCase().includes(q) || devicesOf(e.id).some((d) => d.id.toLowerCase().includes(q)),
    );
    const online = this.edges.filter((e) => e.online).length;
    this.summary.textContent = `${online} of ${this.edges.length} edges online · ${this.devices.length} devices`;
    const rows = shown.map((e) => {
      const devices = devicesOf(e.id);
      const breaker = e.telemetry?.breaker ?? '—';
      const drift = e.telemetry?.drift;
      const head = `<tr class="edge-row" data-edge="${esc(e.id)}">
        <td><strong>${esc(e.id)}</strong></td>
        <td><span class="pill ${e.online ? 'online' : 'offline'}">${e.online ? 'online' : 'offline'}</span></td>
        <td>${esc(ago(e.lastSeenAt))}</td>
        <td>${devices.length}${e.reported?.devices !== undefined ? ` <span class="muted">(${esc(e.reported.devices)} on edge)</span>` : ''}</td>
        <td>${versions(e.reported?.models)}</td>
        <td>${versions(e.desiredModels ?? undefined)}${
          e.reported?.pendingModels && Object.keys(e.reported.pendingModels).length > 0
            ? ` <span class="pill warn">pending ${versions(e.reported.pendingModels)}</span>`
            : ''
        }</td>
        <td><span class="pill ${breaker === 'closed' ? 'online' : breaker === '—' ? '' : 'warn'}">${esc(breaker)}</span></td>
        <td>${drift ? (drift.alarm ? '<span class="pill offline">alarm</span>' : '<span class="pill online">ok</span>') : '—'}</td>
        <td>${reportsCell(e.telemetry?.reports)}</td>
      </tr>`;
      if (!this.open.has(e.id) && !(q && devices.some((d) => d.id.toLowerCase().includes(q)))) return head;
      const list = devices
        .filter((d) => !q || e.id.toLowerCase().includes(q) || d.id.toLowerCase().includes(q))
        .map((d) => `${esc(d.id)} <span class="muted">since ${esc(d.createdAt.slice(0, 10))}</span>`)
        .join('<br>');
      return `${head}<tr class="devices"><td></td><td colspan="8">${list || '<span class="muted">no devices</span>'}</td></tr>`;
    });
    this.table.innerHTML = `<thead><tr><th>edge</th><th>status</th><th>last seen</th><th>devices</th>
      <th>models active</th><th>models desired</th><th>breaker</th><th>drift</th><th>reports</th></tr></thead>
      <tbody>${rows.join('') || '<tr><td colspan="9" class="muted">no edges match</td></tr>'}</tbody>`;
  }
}

/**
 * The devices' reports an edge read since it started, and a warning when its broker dropped some
 * over their report budget (drift detection and the field-accuracy loop live on them).
 */
function reportsCell(reports: NonNullable<EdgeView['telemetry']>['reports']): string {
  if (!reports) return '—';
  const read = Object.values(reports.accepted).reduce((a, b) => a + b, 0);
  const dropped = reports.dropped ? ` <span class="pill warn">${esc(reports.dropped)} dropped</span>` : '';
  return `${esc(read)} read${dropped}`;
}
