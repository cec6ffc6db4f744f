/**
 * Sends each device its late corrections (docs/edge-agent.md "Late corrections"): one retained
 * message per device on `topics.correction(deviceId)` (correction-message.ts) holding every live
 * correction of that device, republished whenever that list changes (a correction added, expired or
 * dropped; an empty payload clears it) and for every device at start, since the embedded broker keeps
 * retained messages in memory only. A device gets the list when it subscribes — at each (re)connect —
 * and whenever it changes while connected: at-least-once, deduplicated by request id on the device.
 * Changes within `delayMs` are sent as one message per device.
 */
import {
  type Correction,
  encodeCorrectionMessage,
  fromUnknown,
  MAX_CORRECTIONS_PER_MESSAGE,
  topics,
} from '@fogline/shared';

export interface CorrectionOutboxOptions {
  /** Publishes with QoS 1 on the edge's local broker. */
  readonly publish: (topic: string, payload: Uint8Array, options: { retain: boolean }) => Promise<void>;
  /** The device's live corrections, newest first. */
  readonly correctionsOf: (device: string) => readonly Correction[];
  /** Default 20 ms. */
  readonly delayMs?: number;
  readonly warn?: (message: string) => void;
}

export class CorrectionOutbox {
  readonly #o: CorrectionOutboxOptions;
  readonly #dirty = new Set<string>();
  #timer: ReturnType<typeof setTimeout> | undefined;
  #sent = 0;
  #closed = false;

  constructor(options: CorrectionOutboxOptions) {
    this.#o = options;
  }

  /** Messages published so far. */
  get sent(): number {
    return this.#sent;
  }

  /** The corrections of these devices changed: their message is republished shortly. */
  changed(devices: Iterable<string>): void {
    if (this.#closed) return;
    for (const d of devices) this.#dirty.add(d);
    this.#timer ??= setTimeout(() => void this.flush(), this.#o.delayMs ?? 20);
  }

  /** Publishes the message of every changed device now. */
  async flush(): Promise<void> {
    clearTimeout(this.#timer);
    this.#timer = undefined;
    const devices = [...this.#dirty];
    this.#dirty.clear();
    await Promise.all(devices.map((device) => this.#publish(device)));
  }

  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
  }

  async #publish(device: string): Promise<void> {
    try {
      const payload = this.#payloadOf(device);
      await this.#o.publish(topics.correction(device), payload, { retain: true });
      this.#sent++;
    } catch (err) {
      this.#o.warn?.(`late corrections for device ${device} not sent: ${fromUnknown(err).message}`);
    }
  }

  /** The newest corrections that fit one message, oldest first; empty (clears it) when none. */
  #payloadOf(device: string): Uint8Array {
    const newest = this.#o.correctionsOf(device).slice(0, MAX_CORRECTIONS_PER_MESSAGE);
    if (newest.length === 0) return new Uint8Array(0);
    for (let n = newest.length; ; n = Math.floor(n / 2)) {
      const corrections = newest.slice(0, n).reverse();
      try {
        return encodeCorrectionMessage({ device, corrections });
      } catch (err) {
        if (n <= 1) throw err;
      }
    }
  }
}
