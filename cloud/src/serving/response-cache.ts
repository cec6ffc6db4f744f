/**
 * The gateway's response cache (Triton's `local` response cache): the outputs of answered inference
 * requests, kept so that a request whose inputs were seen before is answered without the batcher or
 * onnxruntime. One cache per server, shared by every model version that enables it
 * (config.json `"response_cache": {"enable": true}`), bounded by bytes (`--response-cache-mb`,
 * 0 = no cache); the least recently used entries go first.
 *
 * Each serving model version gets its own `ResponseCachePartition`: its entries are found only
 * through it, and `drop()` (unload, or a load that replaces the version) removes them all. Within a
 * partition an entry is keyed by a SHA-256 digest of an unambiguous encoding (every field
 * length-prefixed) of the model name, the version and, per input in config order, its name,
 * datatype, shape and bytes: Triton's request hash. A digest is kept instead of the input bytes
 * (which are larger than the outputs of a classifier by two orders of magnitude, 3,136 bytes in for
 * 40 out on the digits models) because two different inputs reaching one digest would be a SHA-256
 * collision, which nobody has ever produced: by the birthday bound a cache of 2^32 entries meets one
 * by chance with probability about 2^-193, and finding one on purpose is beyond any known attack.
 *
 * An entry holds every output of the model (the instance computes them all), copied out of the
 * batch's buffers, so a request for any subset of the outputs is answered from it; the size of an
 * entry is its output bytes plus ENTRY_OVERHEAD_BYTES for its key and bookkeeping and
 * OUTPUT_OVERHEAD_BYTES per output, so that the bound holds for the memory the entries really take.
 */
import { createHash, type Hash } from 'node:crypto';
import type { ModelConfig } from '@fogline/shared';
import type { InferItem, TensorMap, TensorValue } from '@fogline/shared/runtime';

/**
 * What an entry costs beyond its outputs: its key string, its slots in the cache's Map and its
 * partition's Set, the entry and the outputs object (measured on node 20: about 300 bytes).
 */
export const ENTRY_OVERHEAD_BYTES = 320;
/**
 * What each output costs beyond its data: the typed array, its ArrayBuffer and backing store, the
 * dims array and the tensor object (measured on node 20: about 310 bytes; a 10-float answer takes
 * twice its 40 data bytes in these alone).
 */
export const OUTPUT_OVERHEAD_BYTES = 320;

const MIB = 1024 * 1024;

interface Entry {
  readonly key: string;
  readonly partition: ResponseCachePartition;
  readonly outputs: TensorMap;
  readonly bytes: number;
}

/** Server-wide counts, for /metrics. */
export interface ResponseCacheStats {
  entries: number;
  bytes: number;
  capacityBytes: number;
  /** Entries removed to make room (not those dropped with their model version). */
  evictions: number;
}

export class ResponseCache {
  readonly capacityBytes: number;
  /** Every entry; Map order is recency (oldest first): a hit moves its entry to the end. */
  private readonly entries = new Map<string, Entry>();
  private bytes = 0;
  private evictions = 0;
  private nextPartition = 1;

  /** `capacityMb` MiB (`--response-cache-mb`); 0 = no cache (`enabled` false). */
  constructor(capacityMb: number) {
    this.capacityBytes = Math.floor(capacityMb * MIB);
  }

  get enabled(): boolean {
    return this.capacityBytes > 0;
  }

  get stats(): ResponseCacheStats {
    return {
      entries: this.entries.size,
      bytes: this.bytes,
      capacityBytes: this.capacityBytes,
      evictions: this.evictions,
    };
  }

  /** A partition for one serving model version (its entries are dropped with it). */
  partition(name: string, version: number, config: Pick<ModelConfig, 'inputs'>): ResponseCachePartition {
    return new ResponseCachePartition(this, `${this.nextPartition++}:`, name, version, config);
  }

  /** The outputs stored under `key`, most recently used from now on. */
  get(key: string): TensorMap | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.outputs;
  }

  /**
   * Stores a copy of `outputs` under `key`, evicting the least recently used entries until it fits.
   * An answer larger than the whole cache is not stored (Triton does the same).
   */
  set(key: string, partition: ResponseCachePartition, outputs: TensorMap): void {
    const copy: TensorMap = {};
    let bytes = ENTRY_OVERHEAD_BYTES;
    for (const [name, value] of Object.entries(outputs)) {
      copy[name] = copyTensor(value);
      bytes += value.data.byteLength + OUTPUT_OVERHEAD_BYTES;
    }
    if (bytes > this.capacityBytes) return;
    this.remove(key);
    while (this.bytes + bytes > this.capacityBytes) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value);
      this.evictions++;
    }
    this.entries.set(key, { key, partition, outputs: copy, bytes });
    partition.keys.add(key);
    this.bytes += bytes;
  }

  /** Removes every entry of `partition` (its own entries only: no scan of the others). */
  dropPartition(partition: ResponseCachePartition): void {
    for (const key of [...partition.keys]) this.remove(key);
  }

  private remove(key: string): void {
    const entry = this.entries.get(key);
    if (!entry) return;
    this.entries.delete(key);
    entry.partition.keys.delete(key);
    this.bytes -= entry.bytes;
  }
}

/** One model version's share of the cache. */
export class ResponseCachePartition {
  /** Keys of this partition's entries in the cache (kept by the cache). */
  readonly keys = new Set<string>();
  private readonly inputs: readonly { name: string; datatype: string; tail: readonly number[] }[];

  constructor(
    private readonly cache: ResponseCache,
    /** Unique per partition: entries of two versions (or two loads of one) can never meet. */
    private readonly prefix: string,
    private readonly name: string,
    private readonly version: number,
    config: Pick<ModelConfig, 'inputs'>,
  ) {
    this.inputs = config.inputs.map((s) => ({ name: s.name, datatype: s.datatype, tail: s.shape.slice(1) }));
  }

  /** The cache key of a validated request: model, version, and each input's name, type, shape, bytes. */
  keyOf(item: InferItem): string {
    const hash = createHash('sha256');
    field(hash, this.name);
    field(hash, String(this.version));
    this.inputs.forEach((input, k) => {
      field(hash, input.name);
      field(hash, input.datatype);
      field(hash, [item.batch, ...input.tail].join(','));
      field(hash, item.inputs[k]!);
    });
    return this.prefix + hash.digest('base64');
  }

  /** A copy of the outputs cached under `key` (callers may keep or change it). */
  get(key: string): TensorMap | undefined {
    const outputs = this.cache.get(key);
    if (!outputs) return undefined;
    const copy: TensorMap = {};
    for (const [name, value] of Object.entries(outputs)) copy[name] = copyTensor(value);
    return copy;
  }

  set(key: string, outputs: TensorMap): void {
    this.cache.set(key, this, outputs);
  }

  drop(): void {
    this.cache.dropPartition(this);
  }
}

/** Length-prefixed, so that no two different field lists encode to the same bytes. */
function field(hash: Hash, value: string | Uint8Array): void {
  const bytes = typeof value === 'string' ? Buffer.from(value, 'utf8') : value;
  const length = Buffer.allocUnsafe(8);
  length.writeBigUInt64LE(BigInt(bytes.byteLength));
  hash.update(length);
  hash.update(bytes);
}

function copyTensor(value: TensorValue): TensorValue {
  const copy: TensorValue = { data: value.data.slice(), dims: [...value.dims] };
  if (value.type !== undefined) copy.type = value.type;
  return copy;
}
