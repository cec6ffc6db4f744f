/**
 * The one indirection through which the infer handler, the audit relay and telemetry reach the edge
 * model (docs/edge-agent.md "Deployments"). A swap is one assignment: a request reads `current` and
 * submits its input to that model in the same tick (edge-model.ts `infer` queues synchronously), so a
 * request already queued or batched finishes on the model it started on and every later one goes to
 * the new model; none fails and none waits for a load. The model swapped out is not closed here: the
 * deployer closes it (its queued batches finish first, EdgeModel.close) or keeps it as the `shadow`
 * while a deployment's accuracy gate runs.
 */
import type { ClassAnswer, FabricRequest, Tensor } from '@fogline/shared';
import type { EdgeModel } from '../edge-model.ts';

export class ModelSlot {
  #current: EdgeModel;
  #shadow: EdgeModel | undefined;

  constructor(model: EdgeModel) {
    this.#current = model;
  }

  /** The model serving now: read once per request, and answer with that one. */
  get current(): EdgeModel {
    return this.#current;
  }

  /** The previous version, still loaded while a gate runs (audit-relay.ts runs it on audits). */
  get shadow(): EdgeModel | undefined {
    return this.#shadow;
  }

  /** Serves `next` from now on; returns the model it replaced, still loaded. */
  swap(next: EdgeModel): EdgeModel {
    const previous = this.#current;
    this.#current = next;
    return previous;
  }

  setShadow(model: EdgeModel | undefined): void {
    this.#shadow = model;
  }

  // What the audit relay and telemetry read (audit-relay.ts `AuditModel`), of the serving model.
  get label(): string {
    return this.#current.label;
  }

  get queueDepth(): number {
    return this.#current.queueDepth;
  }

  get batchesInFlight(): number {
    return this.#current.batchesInFlight;
  }

  /** Validates for the serving model; call `infer` in the same tick so both reach the same model. */
  validate(request: Pick<FabricRequest, 'tensors' | 'inputQuantization'>): Tensor {
    return this.#current.validate(request);
  }

  infer(input: Tensor): Promise<ClassAnswer> {
    return this.#current.infer(input);
  }
}
