/**
 * A minimal reader of the MQTT 3.1.1 packets a device receives, for the load client of
 * bench/fabric-mqtt-load.ts: it splits a byte stream into control packets without the per-packet
 * allocations of a general parser (the load generator shares the cores with what it measures).
 */

/** MQTT 3.1.1 control packet types the load client receives. */
export const CONNACK = 2;
export const PUBLISH = 3;
export const SUBACK = 9;

/**
 * Splits a byte stream into MQTT control packets: `(type, flags, body)` per packet, where `body` is
 * a view of the packet after its fixed header. Only what the broker sends a load client is expected.
 */
export class PacketReader {
  private pending: Buffer | null = null;

  constructor(private readonly onPacket: (type: number, flags: number, body: Buffer) => void) {}

  push(chunk: Buffer): void {
    let data = this.pending === null ? chunk : Buffer.concat([this.pending, chunk]);
    this.pending = null;
    let at = 0;
    for (;;) {
      if (data.length - at < 2) break;
      // Remaining length: 1–4 bytes, 7 bits each, least significant first.
      let length = 0;
      let multiplier = 1;
      let i = at + 1;
      let complete = false;
      for (; i < data.length && i < at + 5; i++) {
        const byte = data[i]!;
        length += (byte & 0x7f) * multiplier;
        multiplier *= 128;
        if ((byte & 0x80) === 0) {
          complete = true;
          i++;
          break;
        }
      }
      if (!complete) {
        if (i >= at + 5) throw new Error('malformed MQTT remaining length');
        break;
      }
      if (data.length - i < length) break;
      const head = data[at]!;
      this.onPacket(head >> 4, head & 0x0f, data.subarray(i, i + length));
      at = i + length;
    }
    if (at < data.length) {
      data = data.subarray(at);
      this.pending = Buffer.from(data); // a copy: `chunk` belongs to the socket
    }
  }
}
