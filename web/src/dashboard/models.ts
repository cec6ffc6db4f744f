/**
 * Models (read-only until deployments exist, F8): what the cloud's repository holds and serves.
 */
import { api, esc } from './api.ts';
import type { ModelIndexEntry } from './types.ts';

export class ModelsView {
  constructor(private readonly root: HTMLElement) {}

  async refresh(): Promise<void> {
    const index = await api<ModelIndexEntry[]>('/v2/repository/index', { method: 'POST', body: '{}' });
    const rows = index
      .map(
        (m) => `<tr><td><strong>${esc(m.name)}</strong></td><td>${esc(m.version ?? '—')}</td>
          <td><span class="pill ${m.state === 'READY' ? 'online' : 'warn'}">${esc(m.state)}</span></td>
          <td class="muted">${esc(m.reason ?? '')}</td></tr>`,
      )
      .join('');
    this.root.innerHTML = `<div class="toolbar"><h1 style="margin:0">Models</h1>
      <span class="muted">versions the cloud serves; deployments come with F8</span></div>
      <div class="card" style="padding:0"><table><thead><tr><th>model</th><th>version</th><th>state</th>
      <th>reason</th></tr></thead><tbody>${rows}</tbody></table></div>`;
  }
}
