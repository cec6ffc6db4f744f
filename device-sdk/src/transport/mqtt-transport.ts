/**
 * The device's MQTT connection (MQTT.js, over TCP or WebSocket): clean session, subscribed to its own
 * reply topic, reconnecting with exponential backoff. MQTT.js' own reconnect (a fixed period) is off:
 * `reconnect()` also drops MQTT.js' queue of unsent QoS 1 publishes, so a request never reaches the
 * edge after its deadline has passed on the device.
 *
 * With several broker URLs (a site's edges, the preferred first; docs/device-sdk.md "Two edges"):
 * each reconnect attempt goes to the next URL, round the list, so a lost edge is replaced by the next
 * one at the first attempt; a broker that refuses the device is skipped, and the device is 'refused'
 * only once every broker has refused it in a row. On a later URL the first is tried again every
 * `failbackMs` with a second connection; once subscribed there it takes the requests, and the
 * connection it replaces stays open `DRAIN_MS` so the replies to requests sent on it still arrive.
 */
import { type BackoffOptions, equalJitterDelayMs, FoglineError } from '@fogline/shared';
import { disableNagle } from '@fogline/shared/mqtt-client';
import mqtt, { type MqttClient } from 'mqtt';

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'refused' | 'closed';

/** How long a replaced connection stays open for the replies to requests sent on it. */
export const DRAIN_MS = 10_000;

/** A broker (`mqtt://host:port`, `ws://host:port/mqtt`, ...) and the edge its requests go to. */
export interface TransportBroker {
  readonly url: string;
  readonly edgeId: string;
}

export interface MqttTransportOptions {
  /** One broker, or several, the preferred first. */
  brokers: readonly TransportBroker[];
  /** On a later URL: how often the first is tried again, ms. */
  failbackMs: number;
  clientId: string;
  /** MQTT password; omitted for brokers without authentication (username too, then). */
  token?: string;
  /** CA certificate (PEM) trusted for mqtts:// and wss:// besides the system CAs (Node). */
  ca?: string;
  replyTopic: string;
  /**
   * Optional topic subscribed to after the reply topic (the edge's policy): a broker that refuses it
   * (an edge of before F7) changes nothing, the device stays online without it.
   */
  policyTopic?: string;
  /** Optional too: the edge's device model manifest (model-updater.ts). */
  modelTopic?: string;
  /** Optional topic of the device's late corrections, subscribed to like the policy topic. */
  correctionTopic?: string;
  connectTimeoutMs: number;
  keepaliveSec: number;
  backoff: BackoffOptions;
  onReply(payload: Uint8Array): void;
  onPolicy?(payload: Uint8Array): void;
  onModelManifest?(payload: Uint8Array): void;
  onCorrection?(payload: Uint8Array): void;
  onStateChange(state: ConnectionState, error?: FoglineError): void;
}

/** [MQTT-3.2.2.3] CONNACK return codes that no retry can fix. 3 (server unavailable) is retried. */
function refusalFor(code: number, clientId: string): FoglineError | undefined {
  switch (code) {
    case 1:
      return new FoglineError('UNAVAILABLE', 'broker refused the connection: it does not speak MQTT 3.1.1');
    case 2:
      return new FoglineError(
        'UNAUTHENTICATED',
        `broker refused client id "${clientId}": it is invalid or connected elsewhere with other credentials`,
      );
    case 4:
      return new FoglineError(
        'UNAUTHENTICATED',
        `broker refused device "${clientId}": bad user name or password (check deviceId and token)`,
      );
    case 5:
      return new FoglineError('PERMISSION_DENIED', `broker refused device "${clientId}": not authorized`);
    default:
      return undefined;
  }
}

export class MqttTransport {
  readonly #options: MqttTransportOptions;
  #client: MqttClient;
  #index = 0;
  #state: ConnectionState = 'connecting';
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  /** A connection to the first URL while on a later one, until it is subscribed (failback). */
  #probe: MqttClient | undefined;
  #failback: ReturnType<typeof setTimeout> | undefined;
  /** Replaced connections, open for the replies still due on them. */
  readonly #draining = new Set<MqttClient>();
  /** URLs that refused the device since it was last online (with several URLs). */
  readonly #refusedBy = new Set<number>();
  #firstOutcome: Promise<void>;
  #settleFirst!: (error?: FoglineError) => void;

  constructor(options: MqttTransportOptions) {
    this.#options = options;
    this.#firstOutcome = new Promise<void>((resolve, reject) => {
      this.#settleFirst = (error) => (error ? reject(error) : resolve());
    });
    this.#firstOutcome.catch(() => {}); // observed by ready(); never an unhandled rejection
    this.#client = this.#open(0);
  }

  get state(): ConnectionState {
    return this.#state;
  }

  /** The broker the connection is (or is being) made to: the first is the preferred. */
  get broker(): TransportBroker {
    return this.#options.brokers[this.#index]!;
  }

  /** Settles after the first attempt: online, or offline (retrying in the background); rejects if refused. */
  ready(): Promise<void> {
    return this.#firstOutcome;
  }

  /** QoS 1 publish; rejects at once when not online (the caller decides to queue or answer locally). */
  publish(topic: string, payload: Uint8Array): Promise<void> {
    if (this.#state !== 'online') {
      return Promise.reject(new FoglineError('UNAVAILABLE', `not connected to the broker (${this.#state})`));
    }
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, bodyOf(payload), { qos: 1 }, (err) =>
        err
          ? reject(new FoglineError('UNAVAILABLE', `publish failed: ${err.message}`, { cause: err }))
          : resolve(),
      );
    });
  }

  /**
   * QoS 0, fire and forget (reports): false, and nothing sent, when not online. Never queued: a
   * report must not wait for a reconnect in front of requests.
   */
  publishAtMostOnce(topic: string, payload: Uint8Array): boolean {
    if (this.#state !== 'online') return false;
    this.#client.publish(topic, bodyOf(payload), { qos: 0 });
    return true;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearTimeout(this.#timer);
    clearTimeout(this.#failback);
    this.#probe?.end(true);
    for (const old of this.#draining) old.end(true);
    // A clean DISCONNECT when connected (no will), bounded so a dead socket cannot hang close().
    await Promise.race([this.#client.endAsync(false), new Promise((r) => setTimeout(r, 1_000))]);
    await this.#client.endAsync(true);
  }

  #open(index: number): MqttClient {
    const options = this.#options;
    const client = mqtt.connect(options.brokers[index]!.url, {
      clientId: options.clientId,
      ...(options.token === undefined ? {} : { username: options.clientId, password: options.token }),
      ...(options.ca === undefined ? {} : { ca: options.ca }),
      protocolVersion: 4,
      clean: true,
      keepalive: options.keepaliveSec,
      connectTimeout: options.connectTimeoutMs,
      reconnectPeriod: 0,
      resubscribe: false,
      queueQoSZero: false,
    });
    client.on('connect', () => {
      disableNagle(client);
      if (client === this.#client || client === this.#probe) this.#subscribe(client, index);
    });
    client.on('message', (topic, payload) => {
      // Replies and corrections from a connection being replaced still count: they answer its requests.
      if (topic === options.replyTopic) options.onReply(payload);
      else if (topic === options.correctionTopic) options.onCorrection?.(payload);
      else if (client !== this.#client) return;
      else if (topic === options.policyTopic) options.onPolicy?.(payload);
      else if (topic === options.modelTopic) options.onModelManifest?.(payload);
    });
    client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      const refusal = typeof code === 'number' ? refusalFor(code, options.clientId) : undefined;
      if (refusal) this.#refused(client, index, refusal);
    });
    client.on('close', () => {
      if (client === this.#client) this.#lost();
      else if (client === this.#probe) this.#probeFailed(client);
    });
    return client;
  }

  #subscribe(client: MqttClient, index: number): void {
    client.subscribe(this.#options.replyTopic, { qos: 1 }, (err, _requested, suback) => {
      if (this.#state === 'closed' || this.#state === 'refused') return;
      // On failure MQTT.js passes the requested subscriptions; the SUBACK holds the granted codes.
      const code = (suback as { granted?: number[] } | undefined)?.granted?.[0];
      if (code !== undefined && (code & 0x80) !== 0) {
        // [MQTT-3.9.3]: failure. The broker's ACL does not let this device read its replies.
        return this.#refused(
          client,
          index,
          new FoglineError(
            'PERMISSION_DENIED',
            `broker refused the subscription to ${this.#options.replyTopic}`,
          ),
        );
      }
      if (err) return; // the connection dropped meanwhile: 'close' follows and reconnects
      if (client === this.#probe) this.#adopt(client);
      else if (client !== this.#client) return;
      this.#attempt = 0;
      this.#refusedBy.clear();
      this.#setState('online');
      this.#settleFirst();
      this.#subscribePolicy(client);
      this.#scheduleFailback();
    });
  }

  /**
   * Best effort, the policy and correction topics: a SUBACK failure (0x80, an older edge) or a
   * dropped connection leaves the device as it is. Retained messages arrive at each subscription.
   */
  #subscribePolicy(client: MqttClient): void {
    for (const topic of [
      this.#options.policyTopic,
      this.#options.modelTopic,
      this.#options.correctionTopic,
    ]) {
      if (topic !== undefined) client.subscribe(topic, { qos: 1 }, () => {});
    }
  }

  /** A broker refused the device: final with one URL, or once every URL has refused it in a row. */
  #refused(client: MqttClient, index: number, error: FoglineError): void {
    if (client === this.#probe) return void client.end(true); // 'close' schedules the next try
    if (client !== this.#client) return;
    this.#refusedBy.add(index);
    if (this.#refusedBy.size < this.#options.brokers.length) return void client.end(true); // next URL
    this.#refuse(error);
  }

  #refuse(error: FoglineError): void {
    if (this.#state === 'closed' || this.#state === 'refused') return;
    clearTimeout(this.#timer);
    clearTimeout(this.#failback);
    this.#probe?.end(true);
    this.#setState('refused', error);
    this.#settleFirst(error);
    this.#client.end(true);
  }

  #lost(): void {
    if (this.#state === 'closed' || this.#state === 'refused') return;
    this.#setState('offline');
    this.#settleFirst();
    if (this.#timer !== undefined) return;
    this.#timer = setTimeout(
      () => {
        this.#timer = undefined;
        if (this.#state !== 'offline') return;
        this.#setState('connecting');
        const { length } = this.#options.brokers;
        if (length === 1) return void this.#client.reconnect();
        // The next URL, round the list: a lost edge is replaced at the first attempt.
        const old = this.#client;
        this.#index = (this.#index + 1) % length;
        this.#client = this.#open(this.#index);
        old.end(true);
      },
      equalJitterDelayMs(this.#attempt++, this.#options.backoff),
    );
  }

  /** Online on a later URL: try the first again in `failbackMs`. */
  #scheduleFailback(): void {
    if (this.#index === 0 || this.#probe !== undefined) return;
    clearTimeout(this.#failback);
    this.#failback = setTimeout(() => {
      if (this.#state !== 'online' || this.#index === 0 || this.#probe !== undefined) return;
      this.#probe = this.#open(0);
    }, this.#options.failbackMs);
  }

  #probeFailed(probe: MqttClient): void {
    this.#probe = undefined;
    probe.end(true);
    if (this.#state === 'online') this.#scheduleFailback();
  }

  /** The first URL took the device again: requests go there; the old connection drains, then ends. */
  #adopt(probe: MqttClient): void {
    const old = this.#client;
    this.#probe = undefined;
    this.#client = probe;
    this.#index = 0;
    this.#draining.add(old);
    const drained = setTimeout(() => {
      this.#draining.delete(old);
      old.end(false);
    }, DRAIN_MS);
    old.once('close', () => {
      clearTimeout(drained);
      this.#draining.delete(old);
    });
  }

  #setState(state: ConnectionState, error?: FoglineError): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onStateChange(state, error);
  }
}

/** The payload as MQTT.js takes it: a Buffer in Node, the bytes themselves in a browser. */
function bodyOf(payload: Uint8Array): Buffer {
  return (
    typeof Buffer === 'function'
      ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
      : payload
  ) as Buffer;
}
