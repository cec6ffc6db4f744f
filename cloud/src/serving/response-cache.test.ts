/**
 * The response cache on its own: keys that tell inputs apart, LRU eviction within its byte bound,
 * answers too large to keep, one partition's entries dropped without touching another's, and
 * answers handed out as copies. Served end to end in cloud/src/http/response-cache.test.ts.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ENTRY_OVERHEAD_BYTES, OUTPUT_OVERHEAD_BYTES, ResponseCache } from './response-cache.ts';

const MIB = 1024 * 1024;
const config = { inputs: [{ name: 'x', datatype: 'FP32' as const, shape: [-1, 2] }] };
const item = (...values: number[]) => ({
  batch: values.length / 2,
  inputs: [new Uint8Array(new Float32Array(values).buffer)],
});
/** One output of `n` floats: an entry of 4n + ENTRY_OVERHEAD_BYTES + OUTPUT_OVERHEAD_BYTES bytes. */
const outputs = (n: number, fill = 1) => ({ y: { data: new Float32Array(n).fill(fill), dims: [1, n] } });
const entryBytes = (n: number) => 4 * n + ENTRY_OVERHEAD_BYTES + OUTPUT_OVERHEAD_BYTES;

describe('ResponseCache', () => {
  it('is off at 0 MiB', () => {
    expect(new ResponseCache(0).enabled).toBe(false);
    expect(new ResponseCache(0.5).capacityBytes).toBe(MIB / 2);
  });

  it('gives equal keys to equal requests only: bytes, batch, version and partition all count', () => {
    const cache = new ResponseCache(1);
    const v1 = cache.partition('m', 1, config);
    expect(v1.keyOf(item(1, 2))).toBe(v1.keyOf(item(1, 2)));
    expect(v1.keyOf(item(1, 2))).not.toBe(v1.keyOf(item(1, 3)));
    expect(v1.keyOf(item(1, 2, 1, 2))).not.toBe(v1.keyOf(item(1, 2)));
    expect(cache.partition('m', 2, config).keyOf(item(1, 2))).not.toBe(v1.keyOf(item(1, 2)));
    // A second load of the same version is a partition of its own.
    expect(cache.partition('m', 1, config).keyOf(item(1, 2))).not.toBe(v1.keyOf(item(1, 2)));
  });

  it('never answers one input with the answer stored for another (property)', () => {
    const cache = new ResponseCache(1);
    const p = cache.partition('m', 1, config);
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        fc.uint8Array({ minLength: 8, maxLength: 8 }),
        (a, b) => {
          const key = (bytes: Uint8Array) => p.keyOf({ batch: 1, inputs: [bytes] });
          expect(key(a) === key(b)).toBe(Buffer.from(a).equals(Buffer.from(b)));
        },
      ),
    );
  });

  it('evicts the least recently used answers to stay within its bytes', () => {
    const cache = new ResponseCache((3 * entryBytes(10)) / MIB);
    const p = cache.partition('m', 1, config);
    const [a, b, c, d] = [1, 2, 3, 4].map((v) => p.keyOf(item(v, v))) as [string, string, string, string];
    p.set(a, outputs(10, 1));
    p.set(b, outputs(10, 2));
    p.set(c, outputs(10, 3));
    expect(cache.stats).toMatchObject({ entries: 3, bytes: 3 * entryBytes(10), evictions: 0 });
    expect(p.get(a)?.y?.data[0]).toBe(1); // a is now the most recent: b is the oldest
    p.set(d, outputs(10, 4));
    expect(p.get(b)).toBeUndefined();
    expect([a, c, d].map((k) => p.get(k)?.y?.data[0])).toEqual([1, 3, 4]);
    expect(cache.stats).toMatchObject({ entries: 3, bytes: 3 * entryBytes(10), evictions: 1 });
    p.drop();
    expect(cache.stats).toMatchObject({ entries: 0, bytes: 0 });
  });

  it.each([1, 4])('holds no more memory than its size, with %i small outputs per answer', (count) => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const cache = new ResponseCache(4);
    const p = cache.partition('m', 1, config);
    const answer = () => {
      const out: Record<string, { data: Float32Array; dims: number[]; type: string }> = {};
      for (let j = 0; j < count; j++)
        out[`y${j}`] = { data: new Float32Array(10), dims: [1, 10], type: 'float32' };
      return out;
    };
    gc();
    const before = process.memoryUsage();
    // Fill it to its size (no eviction): as many answers as its byte count says fit.
    p.set(p.keyOf(item(0, 0)), answer());
    const fit = Math.floor(cache.capacityBytes / cache.stats.bytes);
    for (let i = 1; i < fit; i++) p.set(p.keyOf(item(i, -i)), answer());
    expect(cache.stats.evictions).toBe(0);
    gc();
    const after = process.memoryUsage();
    const held = after.heapUsed - before.heapUsed + (after.external - before.external);
    expect(held).toBeLessThan(cache.capacityBytes * 1.25);
  });

  it('does not keep an answer larger than the whole cache, nor evict for it', () => {
    const cache = new ResponseCache(entryBytes(10) / MIB);
    const p = cache.partition('m', 1, config);
    p.set('small', outputs(10));
    p.set('big', outputs(11));
    expect(p.get('big')).toBeUndefined();
    expect(p.get('small')).toBeDefined();
    expect(cache.stats.evictions).toBe(0);
  });

  it("drops one partition's entries and leaves the others", () => {
    const cache = new ResponseCache(1);
    const old = cache.partition('m', 1, config);
    const other = cache.partition('n', 1, config);
    old.set(old.keyOf(item(1, 1)), outputs(2));
    other.set(other.keyOf(item(1, 1)), outputs(2));
    old.drop();
    expect(old.get(old.keyOf(item(1, 1)))).toBeUndefined();
    expect(other.get(other.keyOf(item(1, 1)))).toBeDefined();
    expect(cache.stats).toMatchObject({ entries: 1, bytes: entryBytes(2) });
  });

  it('keeps its own copy: neither the stored outputs nor an answer handed out change it', () => {
    const cache = new ResponseCache(1);
    const p = cache.partition('m', 1, config);
    const stored = outputs(2, 7);
    p.set('k', stored);
    stored.y.data[0] = -1;
    const first = p.get('k')!;
    (first.y!.data as Float32Array)[0] = -2;
    expect(Array.from(p.get('k')!.y!.data as Float32Array)).toEqual([7, 7]);
    expect(p.get('k')!.y!.dims).toEqual([1, 2]);
  });
});
