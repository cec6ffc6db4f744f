/**
 * What `device.on` tells the application, and the listeners it calls (docs/device-sdk.md "Model
 * updates", "Late corrections" and "Offline: the durable store").
 */
import { FoglineError } from '@fogline/shared';
import type { LateCorrection } from './corrections.ts';
import type { ModelErrorEvent, ModelEvent } from './model-updater.ts';

/**
 * A callback of the application threw (e.g. `offline.onAnswer`, called from a timer or an MQTT
 * message): caught, counted (`stats().store.callbackErrors`), told here; the device goes on.
 */
export interface CallbackErrorEvent {
  /** The option whose callback threw. */
  readonly callback: 'offline.onAnswer';
  /** The request whose answer it was given (done all the same: not given again). */
  readonly requestId: string;
  /** What it threw: as is when a FoglineError, else INTERNAL with the value thrown as `cause`. */
  readonly error: FoglineError;
}

/** What `device.on` tells the application. */
export interface DeviceEvents {
  model: ModelEvent;
  modelError: ModelErrorEvent;
  /** Once per request id: the cloud answered a degraded request with another class. */
  correction: LateCorrection;
  callbackError: CallbackErrorEvent;
}

export class DeviceEventHub {
  readonly #listeners: { [E in keyof DeviceEvents]: Set<(e: DeviceEvents[E]) => void> } = {
    model: new Set(),
    modelError: new Set(),
    correction: new Set(),
    callbackError: new Set(),
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
