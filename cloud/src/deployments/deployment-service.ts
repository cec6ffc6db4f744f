/**
 * Model rollouts (issue 13 item 2; docs/operations.md "Rollout"). A deployment names a model version
 * from the model store (tier edge) and registered edges; a canary share of them (at least one) gets
 * the `deployment` block in its desired state first (model-deployment.ts), the rest once every canary
 * edge has reported `active` and stayed so for the healthy time. A canary that fails or rolls back
 * stops the deployment (failed, with the reason), and so does a canary that has not reported `active`
 * within the canary timeout (canary-deadline.ts; the canary edges that moved are rolled back). A
 * failed deployment is withdrawn from the edges that have not swapped it in: they stop it (one that
 * swaps it in all the same, before the withdrawal reached it, is rolled back); done
 * once every edge is active (and, with a gate, has passed it or ended its shadow time).
 *
 * Reports come from edge presence (MQTT `edge/{id}/reported`, or the HTTP report route) and move the
 * edge's row; a timer advances the deployments that wait on time. One deployment per edge: a new one
 * supersedes. While an edge's deployment runs, the controller holds its policy (`holds`). Rollback is
 * a new deployment of the previous version for the edges that moved; the old one is `rolled_back`.
 * With a gate, shadow pairs from the audit intake are counted per edge; a `fail` verdict rolls that
 * edge back and fails the deployment.
 *
 * Every change reads the rows, decides and writes them back, one at a time across the replicas too
 * (docs/scale-out.md "Shared state"): it runs while holding the `deployments` lease in the store
 * (leases.ts). Every replica may get the same report (the broker cluster delivers an edge's reported
 * state to all of them) or tick on the same deployment; the second finds the rows already moved and
 * changes nothing, and shadow pairs counted on two replicas at once all count. State lives in the
 * store only: a replica that dies leaves nothing behind but its lease, which expires.
 */
import { randomBytes } from 'node:crypto';
import { type DeploymentDirective, type DeploymentReport, FoglineError, fromUnknown } from '@fogline/shared';
import type { DeploymentEdgeRecord, DeploymentRecord, Store } from '../store/index.ts';
import { type OverdueCanary, overdueCanaries, timeoutReason } from './canary-deadline.ts';
import { addPair, judgeGate, NO_PAIRS, type PairedGateJudge, type ShadowPair } from './deployment-gate.ts';
import { canaryCount, type DeploymentRequest, storedFile } from './deployment-request.ts';
import { directiveOf, isSent, isSwapped } from './deployment-view.ts';

export interface DeploymentServiceOptions {
  readonly store: Pick<Store, 'deployments' | 'edges' | 'modelVersions' | 'leases'>;
  /** Republishes the edge's desired state (which reads `directive` when it runs). */
  readonly publish: (edgeId: string) => Promise<unknown>;
  /** The version of `model` the edge reports serving (presence), the previous one when it reports none. */
  readonly servedVersion?: (edgeId: string, model: string) => number | undefined;
  /** The deployment the edge last reported (presence), if any. */
  readonly reportedDeployment?: (edgeId: string) => DeploymentReport | undefined;
  /**
   * Whether the edge is known to be offline now (presence: its will, or its graceful stop): a canary
   * that is, is not healthy, whatever it last reported. Default: never.
   */
  readonly offline?: (edgeId: string) => boolean;
  /** How often deployments waiting on time are advanced. Default 1 s. */
  readonly tickMs?: number;
  /** Wall-clock ms. Default Date.now. */
  readonly now?: () => number;
  readonly judge?: PairedGateJudge;
  /** This replica's name in the `deployments` lease. Default: one of its own. */
  readonly holder?: string;
  /** How long the lease holds if its replica dies mid-change. Default 10 s. */
  readonly leaseMs?: number;
  readonly log: (line: string) => void;
}

/** The lease a change holds while it runs (one change at a time across the replicas). */
export const DEPLOYMENTS_LEASE = 'deployments';

const RUNNING = new Set(['canary', 'rolling']);
const BROKEN = new Set(['failed', 'rolled_back']);
/** An edge's states while the deployment may be on its way there (not swapped in, not finished). */
const UNDER_WAY = new Set(['pending', 'downloading', 'verifying', 'warming']);
/** An edge's states in which it still serves what it served before the deployment. */
const STAYED = new Set(['pending', 'superseded', 'rolled_back', 'failed']);

export interface DeploymentDetail {
  readonly deployment: DeploymentRecord;
  readonly edges: readonly DeploymentEdgeRecord[];
}

export class DeploymentService {
  readonly #o: DeploymentServiceOptions;
  readonly #now: () => number;
  readonly #holder: string;
  #stopping = false;
  #queue: Promise<unknown> = Promise.resolve();
  #timer: ReturnType<typeof setInterval> | undefined;

  constructor(options: DeploymentServiceOptions) {
    this.#o = options;
    this.#now = options.now ?? Date.now;
    this.#holder = options.holder ?? `deployments-${process.pid}-${randomBytes(4).toString('hex')}`;
  }

  start(): void {
    this.#timer ??= setInterval(() => void this.tick(), this.#o.tickMs ?? 1_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#stopping = true; // a change still waiting for the lease gives up
    await this.#queue.catch(() => {});
  }

  /** Creates a deployment and sends it to its canary edges. */
  create(request: DeploymentRequest): Promise<DeploymentDetail> {
    return this.#serial(async () => {
      const { store } = this.#o;
      const file = await storedFile(this.#o.store, request, 'edge');
      const device = request.device && (await storedFile(this.#o.store, request.device, 'device'));
      const active = (await store.edges.list()).filter((e) => e.revokedAt === null).map((e) => e.id);
      let edges: string[];
      if (request.edges === 'all') {
        if (active.length === 0) throw new FoglineError('INVALID_ARG', 'no edge is registered');
        edges = active;
      } else {
        const unknown = request.edges.filter((e) => !active.includes(e));
        if (unknown.length > 0) {
          throw new FoglineError('NOT_FOUND', `not registered (or revoked): edge ${unknown.join(', ')}`);
        }
        edges = [...request.edges];
      }
      edges.sort();
      const canaries = canaryCount(edges.length, request.canary);
      const id = `d-${this.#now().toString(36)}-${randomBytes(2).toString('hex')}`;
      const deployment = await store.deployments.create({
        id,
        file,
        edgesSelector: request.edges,
        canaryShare: request.canary,
        canaryHealthyMs: request.canaryHealthyMs,
        canaryTimeoutMs: request.canaryTimeoutMs,
        gate: request.gate,
        device,
        state: 'canary',
        reason: null,
        edges: edges.map((edgeId, i) => ({ edgeId, stage: i < canaries ? 'canary' : 'rest' })),
      });
      this.#o.log(
        `deployment ${id}: ${file.model}@${file.version} to ${edges.length} edge(s), ${canaries} canary`,
      );
      await Promise.all(edges.map((e) => this.#o.publish(e)));
      return { deployment, edges: await store.deployments.edges(id) };
    });
  }

  async detail(id: string): Promise<DeploymentDetail> {
    const { deployments } = this.#o.store;
    return { deployment: await deployments.get(id), edges: await deployments.edges(id) };
  }

  /**
   * The `deployment` block of the edge's desired state: its current deployment once that reached it.
   * Before then (the edge waits behind the canary edges) it keeps serving what its last deployment
   * gave it, so the block stays that one's; else the edge would be told the cloud's own version and
   * report `pendingModels` until its turn.
   */
  async directive(edgeId: string): Promise<DeploymentDirective | undefined> {
    const { deployments } = this.#o.store;
    const current = await deployments.currentFor(edgeId);
    if (!current) return undefined;
    if (isSent(current.deployment, current.edge)) return directiveOf(current.deployment);
    const reported = this.#o.reportedDeployment?.(edgeId);
    if (reported?.state !== 'active' || reported.id === current.deployment.id) return undefined;
    const last = await deployments.get(reported.id).catch(() => undefined);
    return last && !BROKEN.has(last.state) ? directiveOf(last) : undefined;
  }

  /** True while the edge is in a running deployment: the controller holds its policy. */
  async holds(edgeId: string): Promise<boolean> {
    const current = await this.#o.store.deployments.currentFor(edgeId);
    return current !== null && RUNNING.has(current.deployment.state);
  }

  /** An edge's deployment report (validated by readDeploymentReport). Never rejects. */
  report(edgeId: string, report: DeploymentReport): Promise<void> {
    return this.#serial(async () => {
      const current = await this.#o.store.deployments.currentFor(edgeId);
      if (!current || current.deployment.id !== report.id) return;
      const { deployment: d, edge } = current;
      const active = report.state === 'active';
      // It swapped in after the deployment failed (the withdrawal reached it too late): rolled back.
      const late = active && d.state === 'failed' && !isSwapped(edge);
      await this.#o.store.deployments.updateEdge(report.id, edgeId, {
        state: report.state,
        receivedBytes: report.receivedBytes ?? null,
        totalBytes: report.totalBytes ?? null,
        failure: report.failure ? `${report.failure.kind}: ${report.failure.message}` : null,
        ...(report.previous && { previous: report.previous }),
        activeSince: active ? (edge.activeSince ?? new Date(this.#now())) : null,
      });
      await this.#advance(report.id);
      const moved = { ...edge, ...(report.previous && { previous: report.previous }) };
      if (late) await this.#rollBack(d, [moved], 'failed', d.reason ?? 'failed');
    }).catch((err) => this.#o.log(`deployments: report of edge '${edgeId}': ${fromUnknown(err).message}`));
  }

  /** A shadow pair from the audit intake (deployment-gate.ts). Never rejects. */
  pair(edgeId: string, pair: ShadowPair): Promise<void> {
    return this.#serial(async () => {
      const current = await this.#o.store.deployments.currentFor(edgeId);
      if (!current?.deployment.gate) return;
      const { deployment: d, edge } = current;
      if (pair.edgeModel !== `${d.model}:${d.version}` || edge.state !== 'active') return;
      const counts = addPair(edge.gate ?? NO_PAIRS, pair);
      await this.#o.store.deployments.updateEdge(d.id, edgeId, { gate: counts });
      const verdict = judgeGate(counts, d.gate!, this.#o.judge);
      if (verdict.verdict !== 'fail') return;
      const why = `accuracy gate on edge '${edgeId}': ${verdict.reason}`;
      await this.#o.store.deployments.updateEdge(d.id, edgeId, { failure: `accuracy: ${verdict.reason}` });
      await this.#o.store.deployments.setState(d.id, 'failed', why);
      this.#o.log(`deployment ${d.id} failed: ${why}; rolling the edge back`);
      await this.#rollBack(d, [{ ...edge, gate: counts }], 'failed', why);
      await this.#withdraw(d.id);
    }).catch((err) =>
      this.#o.log(`deployments: shadow pair of edge '${edgeId}': ${fromUnknown(err).message}`),
    );
  }

  /** Rolls a deployment back by hand: a new deployment of the previous version for the edges that moved. */
  rollback(id: string): Promise<{ rolledBack: DeploymentRecord; rollbacks: DeploymentRecord[] }> {
    return this.#serial(async () => {
      const d = await this.#o.store.deployments.get(id);
      if (d.state === 'rolled_back')
        throw new FoglineError('INVALID_ARG', `deployment '${id}' is already rolled back`);
      const edges = await this.#o.store.deployments.edges(id);
      // An edge that reported `failed` never swapped: it serves what it served before (the edge's
      // deployer), so a rollback would only reload that version there, or fail if it is not stored.
      const moved = edges.filter((e) => !STAYED.has(e.state));
      const rollbacks = await this.#rollBack(d, moved, 'rolled_back', 'rolled back by hand');
      return { rolledBack: await this.#o.store.deployments.get(id), rollbacks };
    });
  }

  /** Advances every running deployment (the canary's healthy time, the gate's shadow time). */
  tick(): Promise<void> {
    return (async () => {
      // Most ticks find nothing running: they take no lease.
      if ((await this.#o.store.deployments.listRunning()).length === 0) return;
      await this.#serial(async () => {
        for (const d of await this.#o.store.deployments.listRunning()) await this.#advance(d.id);
      });
    })().catch((err) => this.#o.log(`deployments: ${fromUnknown(err).message}`));
  }

  async #advance(id: string): Promise<void> {
    const { deployments } = this.#o.store;
    const d = await deployments.get(id);
    if (!RUNNING.has(d.state)) return;
    const live = (await deployments.edges(id)).filter((e) => e.state !== 'superseded');
    if (live.length === 0) {
      await deployments.setState(id, 'done', 'every edge was taken by a newer deployment');
      return;
    }
    const watched = d.state === 'canary' ? live.filter((e) => e.stage === 'canary') : live;
    const broken = watched.find((e) => BROKEN.has(e.state));
    if (broken) {
      const why = `${broken.stage} edge '${broken.edgeId}' ${broken.state.replace('_', ' ')}${broken.failure ? `: ${broken.failure}` : ''}`;
      await deployments.setState(id, 'failed', why);
      this.#o.log(`deployment ${id} failed: ${why}`);
      await this.#withdraw(id);
      return;
    }
    const now = this.#now();
    const activeFor = (e: DeploymentEdgeRecord) => (e.activeSince ? now - e.activeSince.getTime() : -1);
    if (d.state === 'canary') {
      const overdue = overdueCanaries(d, watched, now, this.#o.offline);
      if (overdue.length > 0) {
        await this.#timeOut(d, watched, overdue);
        return;
      }
      // A canary that went offline (crashed after its swap, say) is not healthy: the rest waits until
      // it is back and active (within the canary's deadline), or the deployment is rolled back.
      const healthy = (e: DeploymentEdgeRecord) =>
        e.state === 'active' && activeFor(e) >= d.canaryHealthyMs && !this.#o.offline?.(e.edgeId);
      if (!watched.every(healthy)) return;
      await deployments.setState(id, 'rolling', null);
      this.#o.log(`deployment ${id}: the canary is healthy; rolling out to the rest`);
      await Promise.all(live.filter((e) => e.stage === 'rest').map((e) => this.#o.publish(e.edgeId)));
      return;
    }
    const settled = (e: DeploymentEdgeRecord) =>
      e.state === 'active' &&
      (!d.gate ||
        activeFor(e) >= d.gate.shadowMs ||
        judgeGate(e.gate ?? NO_PAIRS, d.gate, this.#o.judge).verdict === 'pass');
    if (live.every(settled)) await deployments.setState(id, 'done', null);
  }

  /**
   * The canary missed its deadline (canary-deadline.ts): the deployment fails, the canary edges that
   * moved are rolled back, and the block is withdrawn from those that never reported (isSent).
   */
  async #timeOut(
    d: DeploymentRecord,
    canaries: readonly DeploymentEdgeRecord[],
    overdue: readonly OverdueCanary[],
  ): Promise<void> {
    for (const o of overdue) {
      await this.#o.store.deployments.updateEdge(d.id, o.edgeId, { failure: `timeout: ${o.why}` });
    }
    const why = timeoutReason(overdue);
    this.#o.log(`deployment ${d.id} failed: ${why}; rolling back the canary edges that moved`);
    const moved = canaries.filter((e) => !STAYED.has(e.state));
    try {
      await this.#rollBack(d, moved, 'failed', why);
    } catch (err) {
      // A previous version not in the model store: failed all the same (else every tick retries).
      const reason = `${why}; no rollback: ${fromUnknown(err).message}`;
      await this.#o.store.deployments.setState(d.id, 'failed', reason);
    }
    await this.#withdraw(d.id);
  }

  /**
   * `id` failed: its edges that have it under way (sent, not swapped in, not rolled back by a new
   * deployment) are told again, without it (isSent), and stop it as they stop a superseded one.
   */
  async #withdraw(id: string): Promise<void> {
    const edges = await this.#o.store.deployments.edges(id);
    await Promise.all(edges.filter((e) => UNDER_WAY.has(e.state)).map((e) => this.#o.publish(e.edgeId)));
  }

  /** New deployments of each previous version for `edges`; `d` becomes `state` with `why`. */
  async #rollBack(
    d: DeploymentRecord,
    edges: readonly DeploymentEdgeRecord[],
    state: 'failed' | 'rolled_back',
    why: string,
  ): Promise<DeploymentRecord[]> {
    const byVersion = new Map<number, string[]>();
    const unknown: string[] = [];
    for (const e of edges) {
      const version =
        e.previous?.model === d.model ? e.previous.version : this.#o.servedVersion?.(e.edgeId, d.model);
      if (version === undefined || version === d.version) unknown.push(e.edgeId);
      else byVersion.set(version, [...(byVersion.get(version) ?? []), e.edgeId]);
    }
    const created: DeploymentRecord[] = [];
    for (const [version, ids] of byVersion) {
      const file = await storedFile(this.#o.store, { model: d.model, version }, 'edge');
      const rid = `${d.id.slice(0, 50)}-rb-${randomBytes(2).toString('hex')}`;
      created.push(
        await this.#o.store.deployments.create({
          id: rid,
          file,
          edgesSelector: ids,
          canaryShare: 1,
          canaryHealthyMs: 0,
          canaryTimeoutMs: d.canaryTimeoutMs,
          gate: null,
          device: null,
          state: 'rolling',
          reason: `rollback of ${d.id}`,
          edges: ids.map((edgeId) => ({ edgeId, stage: 'rest' })),
        }),
      );
    }
    const to = created.map((r) => `${r.model}@${r.version} (${r.id})`).join(', ') || 'nothing';
    const left = unknown.length > 0 ? `; previous version unknown on ${unknown.join(', ')}` : '';
    await this.#o.store.deployments.setState(d.id, state, `${why}; rollback to ${to}${left}`);
    await Promise.all(edges.map((e) => this.#o.publish(e.edgeId)));
    return created;
  }

  /** One change at a time, here and across the replicas: reports, pairs, timer and requests touch the same rows. */
  #serial<T>(run: () => Promise<T>): Promise<T> {
    const exclusive = () => this.#leased(run);
    const next = this.#queue.then(exclusive, exclusive);
    this.#queue = next.catch(() => {});
    return next;
  }

  async #leased<T>(run: () => Promise<T>): Promise<T> {
    const { leases } = this.#o.store;
    const leaseMs = this.#o.leaseMs ?? 10_000;
    const giveUpAt = Date.now() + 3 * leaseMs;
    for (let waitMs = 5; !(await leases.acquire(DEPLOYMENTS_LEASE, this.#holder, leaseMs)); ) {
      if (this.#stopping) throw new FoglineError('UNAVAILABLE', 'the cloud is stopping');
      if (Date.now() >= giveUpAt) {
        throw new FoglineError('UNAVAILABLE', 'another replica held the deployments lease too long');
      }
      await new Promise((resolve) => setTimeout(resolve, waitMs));
      waitMs = Math.min(100, waitMs * 2);
    }
    try {
      return await run();
    } finally {
      await leases.release(DEPLOYMENTS_LEASE, this.#holder).catch(() => {});
    }
  }
}
