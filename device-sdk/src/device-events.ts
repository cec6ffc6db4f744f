/**
 * What `device.on` tells the application, and the application's callbacks it calls (docs/device-sdk.md
 * "Model updates", "Late corrections", "Offline: the durable store" and "Callbacks that throw").
 *
 * The SDK calls the application's code from MQTT client callbacks and timers, where an exception
 * would crash the process: options (`onStateChange`, `onPolicy`, `offline.onAnswer`) and `device.on`
 * listeners. Each is called through this hub: what it throws is counted and told as `callbackError`,
 * never thrown, and the device goes on.
 */
import { FoglineError, fromUnknown } from '@fogline/shared';
import type { LateCorrection } from './corrections.ts';
import type { ModelErrorEvent, ModelEvent } from './model-updater.ts';

/**
 * Which application callback threw: an option of `connectDevice` (`onStateChange`, `onPolicy`,
 * `offline.onAnswer`), or the `device.on` event whose listener it was (`model`, `modelError`,
 * `correction`).
 */
export type CallbackName =
  | 'onStateChange'
  | 'onPolicy'
  | 'offline.onAnswer'
  | 'model'
  | 'modelError'
  | 'correction';

/**
 * A callback of the application threw (called from a timer or an MQTT message, outside the
 * application's own calls): caught, counted (`stats().callbackErrors`), told here; the device goes on.
 */
export interface CallbackErrorEvent {
  /** The option or the `device.on` event whose callback threw. */
  readonly callback: CallbackName;
  /**
   * The request whose answer it was given (`offline.onAnswer`: done all the same, not given again;
   * `correction`: the corrected request); absent for the others.
   */
  readonly requestId?: string;
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
  #callbackErrors = 0;

  /** Application callbacks and listeners that threw, `callbackError` listeners included. */
  get callbackErrors(): number {
    return this.#callbackErrors;
  }

  on<E extends keyof DeviceEvents>(event: E, listener: (e: DeviceEvents[E]) => void): () => void {
    const set = this.#listeners[event] as Set<(e: DeviceEvents[E]) => void> | undefined;
    if (!set) throw new FoglineError('INVALID_ARG', `device.on: unknown event "${String(event)}"`);
    if (typeof listener !== 'function') {
      throw new FoglineError('INVALID_ARG', `device.on("${event}"): the listener must be a function`);
    }
    set.add(listener);
    return () => set.delete(listener);
  }

  /**
   * To every listener of `event`; never throws. A listener that throws stops neither the others nor
   * the device: it is told as `callbackError`, except a `callbackError` listener (counted only: told,
   * it could throw again, and again).
   */
  emit<E extends keyof DeviceEvents>(event: E, e: DeviceEvents[E]): void {
    for (const listener of this.#listeners[event] as Set<(e: DeviceEvents[E]) => void>) {
      try {
        listener(e);
      } catch (err) {
        if (event === 'callbackError') this.#callbackErrors++;
        else this.failed(event as CallbackName, err, (e as Partial<LateCorrection>).requestId);
      }
    }
  }

  /** Calls the application's `callback` (named `name`); what it throws is told, never thrown. */
  call(name: CallbackName, callback: () => void, requestId?: string): void {
    try {
      callback();
    } catch (err) {
      this.failed(name, err, requestId);
    }
  }

  /** The application's callback `name` threw `err`: counted and told as `callbackError`. */
  failed(name: CallbackName, err: unknown, requestId?: string): void {
    this.#callbackErrors++;
    const error = fromUnknown(err);
    this.emit('callbackError', { callback: name, ...(requestId !== undefined && { requestId }), error });
  }
}
