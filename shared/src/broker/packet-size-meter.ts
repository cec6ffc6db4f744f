/**
 * Measures MQTT packets in a byte stream without parsing them, so a broker can drop a client whose
 * packet is larger than its limit before buffering it (Aedes 1.x has no maxPacketSize option).
 * [MQTT-2.2]: fixed header = 1 byte type/flags + "Remaining Length" as a variable byte integer of
 * at most 4 bytes ([MQTT-2.2.3]), then Remaining Length bytes.
 */

enum Phase {
  Type,
  Length,
  Body,
}

export class PacketSizeMeter {
  readonly maxPacketBytes: number;
  #phase = Phase.Type;
  #length = 0;
  #multiplier = 1;
  #lengthBytes = 0;
  #remaining = 0;

  constructor(maxPacketBytes: number) {
    this.maxPacketBytes = maxPacketBytes;
  }

  /**
   * Feeds the next bytes of the stream. Returns the total size of the first packet over the limit
   * (Infinity for a malformed Remaining Length), or 0 while every packet fits. Once over, stays over.
   */
  feed(chunk: Uint8Array): number {
    let i = 0;
    while (i < chunk.length) {
      switch (this.#phase) {
        case Phase.Type:
          i++;
          this.#phase = Phase.Length;
          this.#length = 0;
          this.#multiplier = 1;
          this.#lengthBytes = 0;
          break;
        case Phase.Length: {
          const byte = chunk[i++]!;
          this.#length += (byte & 0x7f) * this.#multiplier;
          this.#multiplier *= 128;
          this.#lengthBytes++;
          if (byte & 0x80) {
            // [MQTT-2.2.3]: at most four bytes of Remaining Length.
            if (this.#lengthBytes === 4) return this.#over(Number.POSITIVE_INFINITY);
            break;
          }
          const total = 1 + this.#lengthBytes + this.#length;
          if (total > this.maxPacketBytes) return this.#over(total);
          this.#remaining = this.#length;
          this.#phase = this.#remaining === 0 ? Phase.Type : Phase.Body;
          break;
        }
        case Phase.Body: {
          const take = Math.min(this.#remaining, chunk.length - i);
          i += take;
          this.#remaining -= take;
          if (this.#remaining === 0) this.#phase = Phase.Type;
          break;
        }
      }
    }
    return 0;
  }

  #over(size: number): number {
    // Stay over: every further feed reports the same size.
    this.feed = () => size;
    return size;
  }
}
