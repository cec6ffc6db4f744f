import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { CONNACK, PacketReader, PUBLISH, SUBACK } from './mqtt-packet-reader.ts';

function publish(topic: string, bytes: number, messageId: number): Buffer {
  const payload = Buffer.alloc(bytes, messageId & 0xff);
  return mqttPacket.generate({
    cmd: 'publish',
    topic,
    payload,
    qos: 1,
    messageId,
    retain: false,
    dup: false,
  });
}

describe('PacketReader (bench load client)', () => {
  const packets = [
    mqttPacket.generate({ cmd: 'connack', returnCode: 0, sessionPresent: false }),
    mqttPacket.generate({ cmd: 'suback', messageId: 1, granted: [1] }),
    publish('fogline/v1/device/d-1/reply', 10, 7), // 1-byte remaining length
    publish('fogline/v1/device/d-1/reply', 300, 8), // 2 bytes
    publish('fogline/v1/device/d-1/reply', 20_000, 9), // 3 bytes
    mqttPacket.generate({ cmd: 'puback', messageId: 3 }),
  ];
  const stream = Buffer.concat(packets);

  function read(chunks: Buffer[]): { type: number; flags: number; body: Buffer }[] {
    const seen: { type: number; flags: number; body: Buffer }[] = [];
    const reader = new PacketReader((type, flags, body) =>
      seen.push({ type, flags, body: Buffer.from(body) }),
    );
    for (const chunk of chunks) reader.push(chunk);
    return seen;
  }

  function check(seen: ReturnType<typeof read>): void {
    expect(seen.map((p) => p.type)).toEqual([CONNACK, SUBACK, PUBLISH, PUBLISH, PUBLISH, 4]);
    // Each body is exactly what follows the fixed header of its packet.
    for (const [i, p] of seen.entries()) {
      expect(packets[i]!.subarray(packets[i]!.length - p.body.length)).toEqual(p.body);
    }
    const third = seen[4]!;
    expect((third.flags >> 1) & 3).toBe(1);
    expect(third.body.length).toBe(2 + 'fogline/v1/device/d-1/reply'.length + 2 + 20_000);
  }

  it('splits one chunk holding many packets', () => check(read([stream])));

  it('reassembles packets cut at every byte boundary', () => {
    for (const cut of [1, 2, 3, 5, 7, 64, 1000, 4096]) {
      const chunks: Buffer[] = [];
      for (let at = 0; at < stream.length; at += cut) chunks.push(stream.subarray(at, at + cut));
      check(read(chunks));
    }
  });

  it('refuses a remaining length longer than four bytes', () => {
    const reader = new PacketReader(() => {});
    expect(() => reader.push(Buffer.from([0x30, 0xff, 0xff, 0xff, 0xff, 0x01]))).toThrow(/remaining length/);
  });
});
