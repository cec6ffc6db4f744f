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
  /** URL of the broker (external broker). */
  readonly url?: string;
}

export interface LocalBus {
  readonly kind: 'embedded' | 'external';
  readonly endpoints: LocalBusEndpoints;
  /**
   * Delivers every message of `topic` (QoS 1) to `onMessage`, which must not throw. `senderId` is the
   * publishing client's id when the broker tells us (embedded broker), else undefined.
   */
  subscribe(
    topic: string,
    onMessage: (payload: Uint8Array, senderId: string | undefined) => void,
  ): Promise<void>;
  /** Publishes with QoS 1. */
  publish(topic: string, payload: Uint8Array): Promise<void>;
  /** Disconnects these devices now (embedded only: an external broker applies its own ACL). */
  revoke(deviceIds: readonly string[]): void;
  close(): Promise<void>;
}
