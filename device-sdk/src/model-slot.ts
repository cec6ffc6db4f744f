/**
 * The model a device answers with, swapped between requests (docs/device-sdk.md "Model updates"): a
 * request takes the model in the slot when it starts and keeps it to its end; a swap puts the new
 * one in for the next request and closes the old one once its last run has finished.
 */
import type { Tensor, TensorData, TensorDatatype } from '@fogline/shared';
import type { DeviceModel } from './device-model.ts';
import type { ModelRuntime, RuntimeOutput } from './runtime/model-runtime.ts';

/** A loaded device model: its runtime, its resolved config, and its `name:version`. */
export interface LoadedModel {
  readonly runtime: ModelRuntime;
  readonly model: DeviceModel;
  readonly modelVersion: string;
}

export class ModelSlot {
  #current: LoadedModel;
  readonly #runs = new Map<LoadedModel, number>();
  readonly #retired = new Set<LoadedModel>();
  #closed = false;

  constructor(initial: LoadedModel) {
    this.#current = initial;
  }

  get current(): LoadedModel {
    return this.#current;
  }

  /** Runs `loaded` (the model a request took at its start), even if it was swapped out meanwhile. */
  async run(
    loaded: LoadedModel,
    input: Tensor<TensorDatatype>,
    output: RuntimeOutput,
  ): Promise<TensorData<TensorDatatype>> {
    this.#runs.set(loaded, (this.#runs.get(loaded) ?? 0) + 1);
    try {
      return await loaded.runtime.run(input, output);
    } finally {
      const left = (this.#runs.get(loaded) ?? 1) - 1;
      if (left > 0) this.#runs.set(loaded, left);
      else {
        this.#runs.delete(loaded);
        if (this.#retired.delete(loaded)) void loaded.runtime.close().catch(() => {});
      }
    }
  }

  /** Puts `next` in for the next request; returns the model it replaced. Closes `next` if closed. */
  swap(next: LoadedModel): LoadedModel {
    const previous = this.#current;
    if (this.#closed) {
      void next.runtime.close().catch(() => {});
      return previous;
    }
    this.#current = next;
    this.#retire(previous);
    return previous;
  }

  /** Closes the current model (and any retired one still running, once its run ends). */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#current.runtime.close();
  }

  #retire(loaded: LoadedModel): void {
    if (this.#runs.has(loaded)) this.#retired.add(loaded);
    else void loaded.runtime.close().catch(() => {});
  }
}
