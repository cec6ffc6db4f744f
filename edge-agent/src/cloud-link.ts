/**
 * The edge's MQTT session with the cloud broker (docs/design.md "Where the brokers are"): username = edge
 * id, password = edge token; a retained `online` on `topics.status(edgeId)` with a last will of
 * `offline` (retained), so the cloud always knows whether the edge is up; the retained desired state
 * in; telemetry and reported state out. MQTT.js reconnects on its own; the agent
 * never waits for this link, so it serves its devices with the cloud down.
 */

import { topics } from '@fogline/shared';
import mqtt, { type MqttClient } from 'mqtt';

export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';

export interface CloudLinkOptions {
  /** `mqtt://host:port`, `mqtts://`, `ws://host:port/mqtt` or `wss://`. */
  readonly url: string;
  readonly edgeId: string;
  readonly token: string;
  /** CA certificate (PEM) trusted for `mqtts://` / `wss://` besides the system CAs. */
  readonly ca?: string;
  /** Delay between reconnect attempts, ms. Default 2000. */
  readonly reconnectPeriodMs?: number;
  readonly onDesired: (payload: Uint8Array) => void;
  readonly onConnectionChange?: (connected: boolean) => void;
  readonly onError?: (err: Error) => void;
}

export class CloudLink {
  private readonly client: MqttClient;

  constructor(private readonly options: CloudLinkOptions) {
    const { edgeId, token } = options;
    const status = topics.status(edgeId);
    this.client = mqtt.connect(options.url, {
      protocolVersion: 4, // MQTT 3.1.1: Aedes has no MQTT 5
      clientId: edgeId,
      username: edgeId,
      password: token,
      ...(options.ca !== undefined && { ca: options.ca }),
      clean: true,
      reconnectPeriod: options.reconnectPeriodMs ?? 2000,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false, // subscribed on every CONNACK below instead
      // [MQTT-3.1.2-8] the will is published if the connection drops without a DISCONNECT.
      will: { topic: status, payload: Buffer.from(STATUS_OFFLINE), qos: 1, retain: true },
    });
    this.client.on('connect', () => {
      options.onConnectionChange?.(true);
      this.client.publish(status, STATUS_ONLINE, { qos: 1, retain: true });
      // A clean session starts without subscriptions; the retained desired state arrives right after.
      this.client.subscribe(topics.desired(edgeId), { qos: 1 });
    });
    this.client.on('close', () => options.onConnectionChange?.(false));
    this.client.on('error', (err) => options.onError?.(err));
    this.client.on('message', (topic, payload) => {
      if (topic === topics.desired(edgeId)) options.onDesired(payload);
    });
  }

  get connected(): boolean {
    return this.client.connected;
  }

  /** Telemetry is best effort (QoS 0, dropped while disconnected: the next snapshot has the totals). */
  publishTelemetry(message: unknown): void {
    if (!this.client.connected) return;
    this.client.publish(topics.telemetry(this.options.edgeId), JSON.stringify(message), { qos: 0 });
  }

  /** The state the edge applied, retained so the cloud sees it after its own restarts. */
  publishReported(message: unknown): void {
    if (!this.client.connected) return;
    this.client.publish(topics.reported(this.options.edgeId), JSON.stringify(message), {
      qos: 1,
      retain: true,
    });
  }

  /** Publishes a retained `offline` (a clean DISCONNECT suppresses the will) and disconnects. */
  async close(timeoutMs = 2000): Promise<void> {
    if (this.client.connected) {
      await withTimeout(
        this.client.publishAsync(topics.status(this.options.edgeId), STATUS_OFFLINE, {
          qos: 1,
          retain: true,
        }),
        timeoutMs,
      ).catch(() => {});
    }
    await withTimeout(this.client.endAsync(), timeoutMs).catch(() => this.client.end(true));
  }
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`timed out after ${ms} ms`)), ms);
    promise.then(
      (v) => {
        clearTimeout(timer);
        resolve(v);
      },
      (e: unknown) => {
        clearTimeout(timer);
        reject(e);
      },
    );
  });
}
