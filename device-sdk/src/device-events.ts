/** What `device.on` tells the application, and the listeners it calls (docs/device-sdk.md "Model updates"). */
import { FoglineError } from '@fogline/shared';
import type { ModelErrorEvent, ModelEvent } from './model-updater.ts';

/** What `device.on` tells the application (docs/device-sdk.md "Model updates"). */
export interface DeviceEvents {
  model: ModelEvent;
  modelError: ModelErrorEvent;
}

export class DeviceEventHub {
  readonly #listeners: { [E in keyof DeviceEvents]: Set<(e: DeviceEvents[E]) => void> } = {
    model: new Set(),
    modelError: new Set(),
  };

  on<E extends keyof DeviceEvents>(event: E, listener: (e: DeviceEvents[E]) => void): () => void {
    const set = this.#listeners[event] as Set<(e: DeviceEvents[E]) => void> | undefined;
    if (!set) throw new FoglineError('INVALID_ARG', `device.on: unknown event "${String(event)}"`);
    set.add(listener);
    return () => set.delete(listener);
  }

  emit<E extends keyof DeviceEvents>(event: E, e: DeviceEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<(e: DeviceEvents[E]) => void>) {
      try {
        listener(e);
      } catch {
        // An application listener that throws stops neither the others nor the device.
      }
    }
  }
}
