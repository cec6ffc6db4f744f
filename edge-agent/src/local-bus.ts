/**
 * The edge's side of its local broker, whichever it is: the embedded fogline broker (in process) or an
 * external MQTT broker on the edge box such as Mosquitto (as a plain client). The agent only needs
 * these operations, so both adapters run the same agent code and the same tests.
 */
export interface LocalBusEndpoints {
  /** TCP port devices connect to (embedded broker). */
  readonly mqttPort?: number;
  /** WebSocket port devices connect to (embedded broker). */
  readonly wsPort?: number;
  /** The embedded broker's listeners are MQTTS and WSS. */
  readonly tls?: boolean;
  /** URL of the broker (external broker). */
  readonly url?: string;
}

export interface LocalBus {
  readonly kind: 'embedded' | 'external';
  readonly endpoints: LocalBusEndpoints;
  /**
   * Delivers every message matching `filter` (a topic, or `+` as whole levels; QoS 1) to `onMessage`,
   * which must not throw. `senderId` is the publishing client's id when the broker tells us (embedded
   * broker), else undefined.
   */
  subscribe(
    filter: string,
    onMessage: (payload: Uint8Array, senderId: string | undefined, topic: string) => void,
  ): Promise<void>;
  /** Publishes with QoS 1; `retain` keeps it for later subscribers (the devices' policy). */
  publish(topic: string, payload: Uint8Array, options?: { retain?: boolean }): Promise<void>;
  /** Reports the embedded broker dropped over their bucket; undefined for an external broker. */
  reportsDropped(): number | undefined;
  /** Disconnects these devices now (embedded only: an external broker applies its own ACL). */
  revoke(deviceIds: readonly string[]): void;
  /**
   * Re-reads the certificate the broker serves; open connections stay. INVALID_ARG unless this is the
   * embedded broker serving TLS (an external broker reloads its own).
   */
  reloadTls(): Promise<void>;
  close(): Promise<void>;
}
