/**
 * The device's MQTT connection (MQTT.js, over TCP or WebSocket): clean session, subscribed to its own
 * reply topic, reconnecting with exponential backoff. MQTT.js' own reconnect (a fixed period) is off:
 * `reconnect()` also drops MQTT.js' queue of unsent QoS 1 publishes, so a request never reaches the
 * edge after its deadline has passed on the device.
 */
import { FoglineError } from '@fogline/shared';
import { disableNagle } from '@fogline/shared/mqtt-client';
import mqtt, { type MqttClient } from 'mqtt';
import { type BackoffOptions, backoffDelayMs } from './backoff.ts';

export type ConnectionState = 'connecting' | 'online' | 'offline' | 'refused' | 'closed';

export interface MqttTransportOptions {
  /** mqtt://host:port, ws://host:port/mqtt, ... */
  url: string;
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
  connectTimeoutMs: number;
  keepaliveSec: number;
  backoff: BackoffOptions;
  onReply(payload: Uint8Array): void;
  onPolicy?(payload: Uint8Array): void;
  onModelManifest?(payload: Uint8Array): void;
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
  readonly #client: MqttClient;
  #state: ConnectionState = 'connecting';
  #attempt = 0;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #firstOutcome: Promise<void>;
  #settleFirst!: (error?: FoglineError) => void;

  constructor(options: MqttTransportOptions) {
    this.#options = options;
    this.#firstOutcome = new Promise<void>((resolve, reject) => {
      this.#settleFirst = (error) => (error ? reject(error) : resolve());
    });
    this.#firstOutcome.catch(() => {}); // observed by ready(); never an unhandled rejection
    this.#client = mqtt.connect(options.url, {
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
    this.#client.on('connect', () => {
      disableNagle(this.#client);
      this.#subscribe();
    });
    this.#client.on('message', (topic, payload) => {
      if (topic === options.replyTopic) options.onReply(payload);
      else if (topic === options.policyTopic) options.onPolicy?.(payload);
      else if (topic === options.modelTopic) options.onModelManifest?.(payload);
    });
    this.#client.on('error', (err) => {
      const code = (err as { code?: unknown }).code;
      const refusal = typeof code === 'number' ? refusalFor(code, options.clientId) : undefined;
      if (refusal) this.#refuse(refusal);
    });
    this.#client.on('close', () => this.#lost());
  }

  get state(): ConnectionState {
    return this.#state;
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
    const body =
      typeof Buffer === 'function'
        ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
        : payload;
    return new Promise((resolve, reject) => {
      this.#client.publish(topic, body as Buffer, { qos: 1 }, (err) =>
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
    const body =
      typeof Buffer === 'function'
        ? Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength)
        : payload;
    this.#client.publish(topic, body as Buffer, { qos: 0 });
    return true;
  }

  async close(): Promise<void> {
    if (this.#state === 'closed') return;
    this.#setState('closed');
    clearTimeout(this.#timer);
    // A clean DISCONNECT when connected (no will), bounded so a dead socket cannot hang close().
    await Promise.race([this.#client.endAsync(false), new Promise((r) => setTimeout(r, 1_000))]);
    await this.#client.endAsync(true);
  }

  #subscribe(): void {
    this.#client.subscribe(this.#options.replyTopic, { qos: 1 }, (err, _requested, suback) => {
      if (this.#state === 'closed' || this.#state === 'refused') return;
      // On failure MQTT.js passes the requested subscriptions; the SUBACK holds the granted codes.
      const code = (suback as { granted?: number[] } | undefined)?.granted?.[0];
      if (code !== undefined && (code & 0x80) !== 0) {
        // [MQTT-3.9.3]: failure. The broker's ACL does not let this device read its replies.
        return this.#refuse(
          new FoglineError(
            'PERMISSION_DENIED',
            `broker refused the subscription to ${this.#options.replyTopic}`,
          ),
        );
      }
      if (err) return; // the connection dropped meanwhile: 'close' follows and reconnects
      this.#attempt = 0;
      this.#setState('online');
      this.#settleFirst();
      this.#subscribePolicy();
    });
  }

  /** Best effort: a SUBACK failure (0x80) or a dropped connection leaves the device as it is. */
  #subscribePolicy(): void {
    for (const topic of [this.#options.policyTopic, this.#options.modelTopic]) {
      if (topic !== undefined) this.#client.subscribe(topic, { qos: 1 }, () => {});
    }
  }

  #refuse(error: FoglineError): void {
    if (this.#state === 'closed' || this.#state === 'refused') return;
    clearTimeout(this.#timer);
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
        this.#client.reconnect();
      },
      backoffDelayMs(this.#attempt++, this.#options.backoff),
    );
  }

  #setState(state: ConnectionState, error?: FoglineError): void {
    if (this.#state === state) return;
    this.#state = state;
    this.#options.onStateChange(state, error);
  }
}
