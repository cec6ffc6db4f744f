/**
 * Reads the rollout's progress from the cloud's admin API at a steady pace for the whole run, steady
 * windows included: the reads cost the cloud the same in both windows, so they weigh on neither
 * (`GET /api/deployments/{id}` of the deployment under way, or of the last one between rollouts).
 * Each edge's state is timed when first seen (`POLL_MS` resolution; a shorter state may not show),
 * except `active`, which is timed by the cloud's own `activeSince` (when its report arrived).
 */
import type { CloudAdminClient, DeploymentView } from '@fogline/cloud';

/** How often the progress is read, ms. */
export const POLL_MS = 200;
const sleep = (msec: number) => new Promise((r) => setTimeout(r, msec));

export class DeploymentWatch {
  readonly #admin: CloudAdminClient;
  #id: string | undefined;
  #view: { id: string; view: DeploymentView } | undefined;
  #seen = new Map<string, Record<string, number>>();
  #at = { perf: 0, wall: 0 };
  #stopped = false;
  readonly #loop: Promise<void>;

  constructor(admin: CloudAdminClient) {
    this.#admin = admin;
    this.#loop = this.#run();
  }

  /** Times states from now (`performance.now()` and the wall clock) for deployment `id`. */
  follow(id: string, at: { perf: number; wall: number }): void {
    this.#id = id;
    this.#at = at;
    this.#seen = new Map();
  }

  /** Each edge's state → seconds after the deploy, once all `edges` are active; throws on a failure. */
  async allActive(
    edges: readonly string[],
    timeoutMs = 120_000,
  ): Promise<Map<string, Record<string, number>>> {
    const deadline = performance.now() + timeoutMs;
    for (;;) {
      const view = this.#view?.id === this.#id ? this.#view?.view : undefined;
      for (const e of view?.edges ?? []) {
        if (e.state === 'failed' || e.state === 'rolled_back') {
          throw new Error(`rollout: ${e.edge} ${e.state}: ${e.failure}`);
        }
      }
      if (edges.every((e) => this.#seen.get(e)?.active !== undefined)) return this.#seen;
      if (performance.now() > deadline) throw new Error(`rollout ${this.#id}: not all active in time`);
      await sleep(POLL_MS / 4);
    }
  }

  /** The deployment's own state now (`done` once the rest are active). */
  async state(id: string): Promise<string> {
    return (await this.#admin.deployment(id)).state;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (!this.#stopped) {
      const id = this.#id;
      try {
        const view = id ? await this.#admin.deployment(id) : (await this.#admin.deployments('digits-mid'))[0];
        if (id && view) this.#note(id, view);
      } catch (err) {
        // A read that failed is read again at the next tick; allActive's timeout bounds the wait.
        if (!this.#stopped) console.warn(`rollout: reading the deployment: ${(err as Error).message}`);
      }
      await sleep(POLL_MS);
    }
  }

  #note(id: string, view: DeploymentView): void {
    // A read that began before follow() is of the deployment before: not this one's times.
    if (id !== this.#id) return;
    this.#view = { id, view };
    const now = (performance.now() - this.#at.perf) / 1000;
    for (const e of view.edges ?? []) {
      if (!e.sent) continue;
      const states = this.#seen.get(e.edge) ?? {};
      this.#seen.set(e.edge, states);
      states[e.state] ??= now;
      if (e.activeSince) states.active ??= (Date.parse(e.activeSince) - this.#at.wall) / 1000;
    }
  }
}
