/**
 * Models: deployments (F8) with their per-edge progress, a form to start one and a rollback button
 * (deployments.ts), then the model store's versions (sha256, size, status), the versions the cloud
 * serves, and their quantization and calibration reports (model-reports.ts). A cloud without the
 * deployments API says so and shows the rest.
 */
import { esc, servedModels, storeVersions } from './api.ts';
import { DeploymentsPanel } from './deployments.ts';
import { ModelReportsPanel } from './model-reports.ts';
import type { StoreVersionView } from './types.ts';

export class ModelsView {
  private readonly deployments: DeploymentsPanel;
  private readonly reports: ModelReportsPanel;

  constructor(private readonly root: HTMLElement) {
    root.innerHTML = `<div class="toolbar"><h1 style="margin:0">Models</h1>
      <span class="muted">what the cloud serves, what its model store holds, and deployments to the edges</span></div>
      <div id="models-deployments"></div>
      <div class="card section" id="models-store"><h2>Model store</h2><div></div></div>
      <div class="card section" style="padding:0" id="models-served"></div>
      <div id="models-reports"></div>`;
    this.deployments = new DeploymentsPanel(root.querySelector('#models-deployments')!, () => this.refresh());
    this.reports = new ModelReportsPanel(root.querySelector('#models-reports')!);
  }

  async refresh(): Promise<void> {
    const index = await servedModels();
    const rows = index
      .map(
        (m) => `<tr><td><strong>${esc(m.name)}</strong></td><td>${esc(m.version ?? '—')}</td>
          <td><span class="pill ${m.state === 'READY' ? 'online' : 'warn'}">${esc(m.state)}</span></td>
          <td class="muted">${esc(m.reason ?? '')}</td></tr>`,
      )
      .join('');
    this.root.querySelector('#models-served')!.innerHTML = `<table><thead><tr><th>model (served)</th>
      <th>version</th><th>state</th><th>reason</th></tr></thead><tbody>${rows}</tbody></table>`;
    const names = [...new Set(index.map((m) => m.name))].sort();
    const versions = (await Promise.all(names.map((n) => storeVersions(n).catch(() => [])))).flat();
    this.root.querySelector('#models-store > div')!.innerHTML = storeTable(versions);
    await this.deployments.refresh(versions);
    await this.reports.refresh(names, index.map((m) => `${m.name}:${m.version ?? ''}:${m.state}`).join(' '));
  }
}

function storeTable(versions: StoreVersionView[]): string {
  if (versions.length === 0) {
    return `<p class="muted">No versions pushed yet (<code>fogline models push</code>); the served models below come from
      the cloud's models directory.</p>`;
  }
  const rows = versions
    .map(
      (v) => `<tr><td><strong>${esc(v.model)}</strong></td><td>${v.version}</td><td>${esc(v.tier)}</td>
        <td><code title="${esc(v.sha256)}">${esc(v.sha256.slice(0, 16))}…</code></td>
        <td>${(v.bytes / 1024).toFixed(0)} KiB</td><td>${esc(v.status)}</td>
        <td class="muted">${esc(v.createdAt.slice(0, 19).replace('T', ' '))}</td></tr>`,
    )
    .join('');
  return `<table><thead><tr><th>model</th><th>version</th><th>tier</th><th>sha256</th><th>size</th>
    <th>status</th><th>pushed (UTC)</th></tr></thead><tbody>${rows}</tbody></table>`;
}
