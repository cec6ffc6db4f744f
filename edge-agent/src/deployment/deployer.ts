/**
 * Applies the `deployment` block of the edge's desired state (shared model-deployment.ts; docs/
 * edge-agent.md "Deployments"): each deployment id once, one at a time, in the background; a newer
 * id, or a desired state that no longer names it (the cloud withdrew it), stops the running one if
 * it has not swapped in yet. It
 * downloads the file with the edge token and verifies its sha256 (model-download.ts), loads it
 * beside the serving model, warms it up on a batch of zeros, swaps it in (model-slot.ts), logs what
 * that cost (swap-cost.ts) and reports `active` with what served before. Any failure leaves the serving model as it was and reports `failed` with
 * its kind and one line; the id is remembered on disk (deployment-record.ts) and never retried.
 * A version already on disk with the right sha256 is not downloaded again. During a gate the
 * previous model stays loaded as the slot's shadow for `gate.shadowMs`; a deployment naming it then
 * (a rollback) swaps it back at once.
 */
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import {
  type DeploymentDirective,
  type DeploymentFailureKind,
  type DeploymentReport,
  fromUnknown,
  type ModelConfig,
  type ModelRef,
  readDeploymentDirective,
} from '@fogline/shared';
import type { ModelEntry } from '@fogline/shared/model-repository';
import { mkdirPrivate, PRIVATE_FILE_MODE } from '@fogline/shared/storage';
import type { AgentLogger } from '../agent-options.ts';
import type { EdgeModel } from '../edge-model.ts';
import {
  CONFIG_FILE,
  deployedEntry,
  entryOf,
  holds,
  incompatibility,
  MODEL_FILE,
  readDeployedConfig,
  versionDir,
} from './deployed-files.ts';
import { type DeploymentRecord, saveDeploymentRecord } from './deployment-record.ts';
import {
  DownloadFailure,
  type DownloadSettings,
  downloadModelFile,
  type ModelFileSource,
} from './model-download.ts';
import type { ModelSlot } from './model-slot.ts';
import { SwapCost } from './swap-cost.ts';

export interface ModelStoreSource extends ModelFileSource {
  modelConfig(model: string, version: number, timeoutMs: number): Promise<unknown>;
}

export interface DeployerOptions {
  readonly dataDir: string;
  readonly slot: ModelSlot;
  /** The cloud's model store; none for an edge without a cloud URL (then only files on disk deploy). */
  readonly source: ModelStoreSource | undefined;
  /** Loads (and warms) a model entry with the edge's sizing and batching. */
  readonly load: (entry: ModelEntry, version: number) => Promise<EdgeModel>;
  /** The record read at start (deployment-record.ts). */
  readonly record: DeploymentRecord;
  readonly download: DownloadSettings;
  /** Publishes the edge's reported state now (its `deployment` field is `status()`). */
  readonly report: () => void;
  readonly logger: AgentLogger;
}

const CONFIG_TIMEOUT_MS = 30_000;

class DeploymentFailed extends Error {
  constructor(
    readonly kind: DeploymentFailureKind,
    message: string,
  ) {
    super(message);
  }
}

export class Deployer {
  readonly #o: DeployerOptions;
  #record: DeploymentRecord;
  #status: DeploymentReport | undefined;
  #running: DeploymentDirective | undefined;
  #pending: DeploymentDirective | undefined;
  /** Aborts the running deployment until its swap: a newer id (a rollback too) replaces it. */
  #superseded: AbortController | undefined;
  /** The running deployment stops because the desired state no longer names it (not for a newer id). */
  #withdrawn = false;
  #work: Promise<void> = Promise.resolve();
  #gate: { model: EdgeModel; timer: ReturnType<typeof setTimeout> } | undefined;
  readonly #stop = new AbortController();

  constructor(options: DeployerOptions) {
    this.#o = options;
    this.#record = options.record;
    this.#status = options.record.report;
  }

  /** The last deployment's report, for the reported state. */
  status(): DeploymentReport | undefined {
    return this.#status;
  }

  /**
   * Takes a desired state's raw `deployment` block (undefined: the state has none); a new id starts
   * (or waits for the running one). A state that no longer names the deployment under way (no block,
   * or one this edge already finished: the cloud withdrew it, as it does from a deployment that
   * failed) stops it as a newer id does, if it has not swapped in yet.
   */
  receive(raw: unknown): void {
    if (this.#stop.signal.aborted) return;
    if (raw === undefined) {
      this.#withdraw();
      return;
    }
    const reading = readDeploymentDirective(raw);
    if (!reading.ok) {
      this.#o.logger.warn(`refused the deployment block of the desired state: ${reading.reason}`);
      return;
    }
    const d = reading.value;
    if (d.id === this.#running?.id || d.id === this.#pending?.id) return;
    if (d.id === this.#record.active?.id || this.#record.finished.includes(d.id)) {
      this.#withdraw();
      return;
    }
    this.#pending = d;
    // A deployment not yet swapped in stops for the newer one: serving a version already replaced
    // (by a rollback, say) only to swap it out again would be the wrong model for a while.
    this.#superseded?.abort();
    this.#work = this.#work
      .then(() => this.#next())
      .catch((err: unknown) => this.#o.logger.warn(`deployment ${d.id}: ${fromUnknown(err).message}`));
  }

  /** The desired state names neither the running deployment nor the waiting one: both stop. */
  #withdraw(): void {
    if (!this.#running && !this.#pending) return;
    this.#pending = undefined;
    this.#withdrawn = true;
    this.#superseded?.abort();
  }

  /** Stops a download under way and frees the shadow model; the serving model is the agent's to close. */
  async close(): Promise<void> {
    this.#stop.abort();
    await this.#work;
    this.#endGate();
  }

  async #next(): Promise<void> {
    const d = this.#pending;
    this.#pending = undefined;
    if (!d || this.#stop.signal.aborted) return;
    this.#running = d;
    const superseded = new AbortController();
    this.#superseded = superseded;
    try {
      await this.#deploy(d, AbortSignal.any([this.#stop.signal, superseded.signal]));
    } catch (err) {
      if (this.#stop.signal.aborted) {
        // Not a failure: the next start gets the retained deployment again and resumes its download.
        this.#o.logger.info(`deployment ${d.id} interrupted by the stop; it goes on at the next start`);
        return;
      }
      if (superseded.signal.aborted) {
        // Not a failure either: the cloud's row of it on this edge is `superseded`, or the deployment
        // failed elsewhere; its bytes stay on disk, and the id is never run again.
        this.#record = { ...this.#record, finished: [...this.#record.finished, d.id] };
        if (!this.#withdrawn) {
          this.#o.logger.info(`deployment ${d.id} stopped before its swap: a newer deployment replaces it`);
          return;
        }
        this.#o.logger.info(`deployment ${d.id} stopped before its swap: the cloud withdrew it`);
        // Reported as what serves: the last deployment's final report (none before the first).
        this.#status = this.#record.report;
        this.#o.report();
        return;
      }
      const failure =
        err instanceof DeploymentFailed ? err : new DeploymentFailed('load', fromUnknown(err).message);
      await this.#fail(d, failure);
    } finally {
      this.#running = undefined;
      this.#superseded = undefined;
      this.#withdrawn = false;
    }
  }

  async #deploy(d: DeploymentDirective, signal: AbortSignal): Promise<void> {
    const { slot, logger } = this.#o;
    const gate = this.#gate;
    if (gate && gate.model.name === d.model && gate.model.version === d.version) {
      // A rollback while the previous version is still loaded: no download, no load.
      const shadow = gate.model;
      this.#gate = undefined;
      clearTimeout(gate.timer);
      slot.setShadow(undefined);
      const replaced = slot.swap(shadow);
      void replaced.close();
      logger.info(`deployment ${d.id}: swapped back to ${shadow.label} (it was still loaded)`);
      return this.#activate(d, replaced);
    }
    const cost = new SwapCost();
    try {
      return await this.#install(d, cost, signal);
    } finally {
      cost.finish(); // a failed deployment stops the event-loop sampling too
    }
  }

  /** Download, verify, load and warm `d`, then swap it in. */
  async #install(d: DeploymentDirective, cost: SwapCost, signal: AbortSignal): Promise<void> {
    const { slot, logger } = this.#o;
    this.#set({ ...ref(d), id: d.id, state: 'downloading', receivedBytes: 0, totalBytes: d.bytes });
    const entry = await this.#fetch(d, cost, signal);
    const why = incompatibility(slot.current.config, entry.config);
    if (why) throw new DeploymentFailed('load', `${d.model}@${d.version}: ${why}`);
    this.#set({ ...ref(d), id: d.id, state: 'warming' });
    let next: EdgeModel;
    cost.begin('load');
    try {
      next = await this.#o.load(entry, d.version);
    } catch (err) {
      throw new DeploymentFailed(
        'load',
        `${d.model}@${d.version} does not load: ${fromUnknown(err).message}`,
      );
    }
    cost.begin('warm-up');
    try {
      await next.warmUp();
    } catch (err) {
      await next.close().catch(() => {});
      throw new DeploymentFailed(
        'warmup',
        `${d.model}@${d.version} failed its warm-up: ${fromUnknown(err).message}`,
      );
    }
    if (signal.aborted) {
      await next.close();
      throw new DeploymentFailed('download', 'stopped before the swap');
    }
    this.#superseded = undefined; // swapped in: a newer deployment waits for it to finish
    const replaced = slot.swap(next);
    logger.info(`deployment ${d.id}: serving ${next.label} (was ${replaced.label}); ${cost.finish()}`);
    this.#endGate();
    if (d.gate && d.gate.shadowMs > 0) {
      slot.setShadow(replaced);
      const timer = setTimeout(() => this.#endGate(), d.gate.shadowMs);
      timer.unref();
      this.#gate = { model: replaced, timer };
    } else void replaced.close();
    return this.#activate(d, replaced);
  }

  /** The version's entry on disk: downloaded and verified unless a copy with its sha256 is there. */
  async #fetch(d: DeploymentDirective, cost: SwapCost, signal: AbortSignal): Promise<ModelEntry> {
    const { dataDir, source } = this.#o;
    const dir = versionDir(dataDir, d);
    const modelPath = join(dir, MODEL_FILE);
    cost.begin('verify');
    if (await holds(modelPath, d.sha256)) {
      try {
        return await deployedEntry(dataDir, d);
      } catch {
        // No readable config beside it: fetch both again.
      }
    }
    cost.begin('download');
    if (!source) throw new DeploymentFailed('download', 'this edge has no cloud URL to download models from');
    try {
      await mkdirPrivate(dir);
    } catch (err) {
      // The data dir, not the model: a `load` failure would send the operator to the wrong file.
      throw new DeploymentFailed('download', `cannot write ${dir}: ${fromUnknown(err).message}`);
    }
    let config: ModelConfig;
    try {
      const raw = await source.modelConfig(d.model, d.version, CONFIG_TIMEOUT_MS);
      config = readDeployedConfig(raw, `the store's config of ${d.model}@${d.version}`, d.model);
      await writeFile(join(dir, CONFIG_FILE), `${JSON.stringify(raw, null, 2)}\n`, {
        mode: PRIVATE_FILE_MODE,
      });
    } catch (err) {
      throw new DeploymentFailed(
        'download',
        `config of ${d.model}@${d.version}: ${fromUnknown(err).message}`,
      );
    }
    // The `.part` of an older edge (its own download, no If-Range) is not resumed: dropped once.
    await rm(`${modelPath}.part`, { force: true });
    try {
      await downloadModelFile({
        source,
        file: d,
        target: modelPath,
        settings: this.#o.download,
        signal,
        onProgress: (receivedBytes) =>
          this.#set({ ...ref(d), id: d.id, state: 'downloading', receivedBytes, totalBytes: d.bytes }),
        onVerify: () => {
          this.#set({ ...ref(d), id: d.id, state: 'verifying', receivedBytes: d.bytes, totalBytes: d.bytes });
          cost.begin('verify');
        },
      });
    } catch (err) {
      if (err instanceof DownloadFailure) throw new DeploymentFailed(err.kind, err.message);
      throw new DeploymentFailed('download', fromUnknown(err).message);
    }
    return entryOf(d, dir, config);
  }

  async #activate(d: DeploymentDirective, replaced: EdgeModel): Promise<void> {
    const previous = { model: replaced.name, version: replaced.version };
    this.#record = {
      active: { id: d.id, model: d.model, version: d.version, sha256: d.sha256, bytes: d.bytes },
      previous,
      finished: [...this.#record.finished, d.id],
    };
    await this.#settle({ ...ref(d), id: d.id, state: 'active', previous });
  }

  async #fail(d: DeploymentDirective, failure: DeploymentFailed): Promise<void> {
    const message = failure.message.split('\n')[0]!.slice(0, 300);
    this.#o.logger.warn(
      `deployment ${d.id} of ${d.model}@${d.version} failed (${failure.kind}): ${message}; ${this.#o.slot.current.label} keeps serving`,
    );
    this.#record = { ...this.#record, finished: [...this.#record.finished, d.id] };
    const serving = this.#o.slot.current;
    await this.#settle({
      ...ref(d),
      id: d.id,
      state: 'failed',
      previous: { model: serving.name, version: serving.version },
      failure: { kind: failure.kind, message },
    });
  }

  /** Records the final report on disk, then reports it. */
  async #settle(report: DeploymentReport): Promise<void> {
    this.#record = { ...this.#record, report };
    try {
      await saveDeploymentRecord(this.#o.dataDir, this.#record);
    } catch (err) {
      this.#o.logger.warn(`could not write the deployment record: ${fromUnknown(err).message}`);
    }
    this.#set(report);
  }

  #set(report: DeploymentReport): void {
    this.#status = report;
    this.#o.report();
  }

  /** The gate's time is up (or another version replaced it): the shadow model is closed. */
  #endGate(): void {
    const gate = this.#gate;
    if (!gate) return;
    this.#gate = undefined;
    clearTimeout(gate.timer);
    if (this.#o.slot.shadow === gate.model) this.#o.slot.setShadow(undefined);
    void gate.model.close();
  }
}

function ref(d: ModelRef): ModelRef {
  return { model: d.model, version: d.version };
}
