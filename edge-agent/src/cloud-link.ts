/**
 * The edge's MQTT session with the cloud broker (docs/design.md "Where the brokers are"): username = edge
 * id, password = edge token; a retained `online` on `topics.status(edgeId)` with a last will of
 * `offline` (retained), so the cloud always knows whether the edge is up; the retained desired state
 * in; telemetry and reported state out. MQTT.js reconnects on its own; the agent
 * never waits for this link, so it serves its devices with the cloud down.
 *
 * With several URLs (the cloud's replicas, the preferred first; docs/edge-agent.md "Several cloud
 * URLs"): a link down for `failoverMs` moves to the next URL, round the list; on a later URL it tries
 * the first again every `failbackMs` with a second connection, and moves back once that one is up
 * (make before break: the old session ends with a DISCONNECT, so its will is not published).
 */

import { topics } from '@fogline/shared';
import mqtt, { type MqttClient } from 'mqtt';

export const STATUS_ONLINE = 'online';
export const STATUS_OFFLINE = 'offline';

export interface CloudLinkOptions {
  /** `mqtt://host:port`, `mqtts://`, `ws://host:port/mqtt` or `wss://`: one, or the replicas' in order. */
  readonly urls: readonly string[];
  readonly edgeId: string;
  readonly token: string;
  /** CA certificate (PEM) trusted for `mqtts://` / `wss://` besides the system CAs. */
  readonly ca?: string;
  /** Delay between reconnect attempts, ms. Default 2000. */
  readonly reconnectPeriodMs?: number;
  /** With several URLs: time down before the next URL is tried, ms. Default 5000. */
  readonly failoverMs?: number;
  /** On a later URL: how often the first is tried again, ms. Default 30000. */
  readonly failbackMs?: number;
  readonly onDesired: (payload: Uint8Array) => void;
  readonly onConnectionChange?: (connected: boolean, url: string) => void;
  readonly onError?: (err: Error) => void;
}

export class CloudLink {
  #client: MqttClient;
  #index = 0;
  /** A connection to the first URL while the link is on a later one (failback). */
  #probe: MqttClient | undefined;
  #failover: ReturnType<typeof setTimeout> | undefined;
  #failback: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  constructor(private readonly options: CloudLinkOptions) {
    this.#client = this.#open(0, true);
  }

  get connected(): boolean {
    return this.#client.connected;
  }

  /** The URL the link is connected to; undefined while it is down. */
  get connectedUrl(): string | undefined {
    return this.#client.connected ? this.options.urls[this.#index] : undefined;
  }

  /** Telemetry is best effort (QoS 0, dropped while disconnected: the next snapshot has the totals). */
  publishTelemetry(message: unknown): void {
    if (!this.#client.connected) return;
    this.#client.publish(topics.telemetry(this.options.edgeId), JSON.stringify(message), { qos: 0 });
  }

  /** The state the edge applied, retained so the cloud sees it after its own restarts. */
  publishReported(message: unknown): void {
    if (!this.#client.connected) return;
    this.#client.publish(topics.reported(this.options.edgeId), JSON.stringify(message), {
      qos: 1,
      retain: true,
    });
  }

  /** Publishes a retained `offline` (a clean DISCONNECT suppresses the will) and disconnects. */
  async close(timeoutMs = 2000): Promise<void> {
    this.#closed = true;
    clearTimeout(this.#failover);
    clearTimeout(this.#failback);
    this.#probe?.end(true);
    const client = this.#client;
    if (client.connected) {
      await withTimeout(
        client.publishAsync(topics.status(this.options.edgeId), STATUS_OFFLINE, { qos: 1, retain: true }),
        timeoutMs,
      ).catch(() => {});
    }
    await withTimeout(client.endAsync(), timeoutMs).catch(() => client.end(true));
  }

  /** A session to `urls[index]`; `reconnect` false for a failback probe (one attempt). */
  #open(index: number, reconnect: boolean): MqttClient {
    const { edgeId, token, urls } = this.options;
    const url = urls[index]!;
    const client = mqtt.connect(url, {
      protocolVersion: 4, // MQTT 3.1.1: Aedes has no MQTT 5
      clientId: edgeId,
      username: edgeId,
      password: token,
      ...(this.options.ca !== undefined && { ca: this.options.ca }),
      clean: true,
      reconnectPeriod: reconnect ? this.#reconnectPeriodMs : 0,
      connectTimeout: 10_000,
      keepalive: 30,
      resubscribe: false, // subscribed on every CONNACK below instead
      // [MQTT-3.1.2-8] the will is published if the connection drops without a DISCONNECT.
      will: { topic: topics.status(edgeId), payload: Buffer.from(STATUS_OFFLINE), qos: 1, retain: true },
    });
    client.on('connect', () => {
      if (client === this.#client) this.#announce(client, index);
      else if (client === this.#probe) void this.#adopt(client);
    });
    client.on('close', () => {
      if (client === this.#client) {
        this.options.onConnectionChange?.(false, url);
        this.#scheduleFailover();
      } else if (client === this.#probe) {
        this.#probe = undefined;
        client.end(true);
        this.#scheduleFailback();
      }
    });
    client.on('error', (err) => {
      if (client === this.#client) this.options.onError?.(err);
    });
    client.on('message', (topic, payload) => {
      if (client === this.#client && topic === topics.desired(edgeId)) this.options.onDesired(payload);
    });
    return client;
  }

  get #reconnectPeriodMs(): number {
    return this.options.reconnectPeriodMs ?? 2000;
  }

  /** Connected (again): online, retained, and the desired state, which arrives right after. */
  #announce(client: MqttClient, index: number): void {
    clearTimeout(this.#failover);
    this.#failover = undefined;
    const { edgeId } = this.options;
    this.options.onConnectionChange?.(true, this.options.urls[index]!);
    client.publish(topics.status(edgeId), STATUS_ONLINE, { qos: 1, retain: true });
    // A clean session starts without subscriptions; the retained desired state arrives right after.
    client.subscribe(topics.desired(edgeId), { qos: 1 });
    this.#scheduleFailback();
  }

  /** Down on this URL: after `failoverMs` without a reconnect, the next URL. */
  #scheduleFailover(): void {
    const { urls } = this.options;
    if (urls.length < 2 || this.#closed || this.#failover !== undefined) return;
    this.#failover = setTimeout(() => {
      this.#failover = undefined;
      if (this.#closed || this.#client.connected) return;
      const old = this.#client;
      this.#index = (this.#index + 1) % urls.length;
      this.#client = this.#open(this.#index, true);
      old.end(true);
    }, this.options.failoverMs ?? 5000);
    this.#failover.unref();
  }

  /** On a later URL: try the first again in `failbackMs`. */
  #scheduleFailback(): void {
    if (this.#index === 0 || this.#closed || this.#probe !== undefined) return;
    clearTimeout(this.#failback);
    this.#failback = setTimeout(() => {
      if (this.#closed || this.#index === 0 || this.#probe !== undefined) return;
      this.#probe = this.#open(0, false);
    }, this.options.failbackMs ?? 30_000);
    this.#failback.unref();
  }

  /** The first URL answers again: take it, and end the session on the later one cleanly (no will). */
  async #adopt(probe: MqttClient): Promise<void> {
    const old = this.#client;
    this.#probe = undefined;
    this.#index = 0;
    this.#client = probe;
    probe.options.reconnectPeriod = this.#reconnectPeriodMs;
    await withTimeout(old.endAsync(false), 2000).catch(() => old.end(true));
    // Lost meanwhile: its 'close' scheduled the failover and MQTT.js reconnects it.
    if (!this.#closed && this.#client === probe && probe.connected) this.#announce(probe, 0);
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
