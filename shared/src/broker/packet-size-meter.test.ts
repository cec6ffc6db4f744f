import * as mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { PacketSizeMeter } from './packet-size-meter.ts';

function publish(bytes: number): Uint8Array {
  return mqttPacket.generate({
    cmd: 'publish',
    topic: 't',
    payload: Buffer.alloc(bytes),
    qos: 0,
    retain: false,
    dup: false,
  });
}

describe('PacketSizeMeter', () => {
  it('accepts a stream of packets under the limit, however it is split into chunks', () => {
    const stream = Buffer.concat([publish(10), publish(200), publish(0), publish(1000)]);
    for (const chunkSize of [1, 3, 7, 64, stream.length]) {
      const meter = new PacketSizeMeter(1100);
      for (let at = 0; at < stream.length; at += chunkSize) {
        expect(meter.feed(stream.subarray(at, at + chunkSize))).toBe(0);
      }
    }
  });

  it('reports the first oversized packet as soon as its fixed header is read', () => {
    const big = publish(200_000);
    const meter = new PacketSizeMeter(1024);
    expect(meter.feed(publish(10))).toBe(0);
    // Only the fixed header (1 + 3 length bytes) is needed to know its size.
    expect(meter.feed(big.subarray(0, 4))).toBe(big.length);
    expect(meter.feed(publish(1))).toBe(big.length);
  });

  it('flags a Remaining Length longer than four bytes as malformed', () => {
    const meter = new PacketSizeMeter(1024);
    expect(meter.feed(Uint8Array.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toBe(Number.POSITIVE_INFINITY);
  });

  it('accepts a packet of exactly the limit', () => {
    const p = publish(500);
    expect(new PacketSizeMeter(p.length).feed(p)).toBe(0);
    expect(new PacketSizeMeter(p.length - 1).feed(p)).toBe(p.length);
  });
});
