/**
 * MQTT.js leaves Nagle's algorithm on for TCP: a small publish can then wait ~40 ms for the peer's
 * delayed ACK, which dominates a sub-millisecond round trip. Call on every 'connect' (a reconnect
 * opens a new socket). WebSocket streams in browsers have no such knob; then this does nothing.
 */
export function disableNagle(client: { stream?: unknown }): void {
  const stream = client.stream as { setNoDelay?: (noDelay: boolean) => void } | undefined;
  stream?.setNoDelay?.(true);
}
