import { FoglineError } from '../errors.ts';

/** Bounds applied to every decoded (and encoded) tensor, so that no input can make us allocate or loop without end. */
export interface CodecLimits {
  /** Largest element count of one tensor (product of its shape). */
  readonly maxElements: number;
  /** Largest number of dimensions of a shape. */
  readonly maxRank: number;
  /** Largest number of tensors (inputs, outputs or requested outputs) in one header. */
  readonly maxTensors: number;
}

export const DEFAULT_CODEC_LIMITS: CodecLimits = Object.freeze({
  maxElements: 64 * 1024 * 1024,
  maxRank: 8,
  maxTensors: 64,
});

/** Resolved limits per caller's frozen object: callers pass the same constant on every message. */
const resolvedCache = new WeakMap<Partial<CodecLimits>, CodecLimits>();

export function resolveLimits(limits?: Partial<CodecLimits>): CodecLimits {
  if (limits === undefined) return DEFAULT_CODEC_LIMITS;
  // Only a frozen object can be cached: any other may change between calls.
  const frozen = Object.isFrozen(limits);
  const cached = frozen ? resolvedCache.get(limits) : undefined;
  if (cached !== undefined) return cached;
  const resolved = { ...DEFAULT_CODEC_LIMITS, ...limits };
  for (const [key, value] of Object.entries(resolved)) {
    if (!Number.isSafeInteger(value) || value < 0) {
      throw new FoglineError(
        'INVALID_ARG',
        `codec limit ${key} must be a non-negative integer, got ${value}`,
      );
    }
  }
  const result = Object.freeze(resolved);
  if (frozen) resolvedCache.set(limits, result);
  return result;
}

/**
 * Validates a concrete tensor shape (OIP: `shape` is an array of non-negative int64; -1 only appears in
 * model metadata, never in a request) and returns its element count. The product is checked against
 * `maxElements` after every factor, so it never overflows.
 */
export function elementCount(shape: unknown, where: string, limits: CodecLimits): number {
  if (!Array.isArray(shape)) {
    throw new FoglineError('INVALID_ARG', `${where}: shape must be an array of integers`);
  }
  if (shape.length > limits.maxRank) {
    throw new FoglineError(
      'INVALID_ARG',
      `${where}: shape has rank ${shape.length}, more than the limit of ${limits.maxRank}`,
    );
  }
  let count = 1;
  for (let i = 0; i < shape.length; i++) {
    const dim: unknown = shape[i];
    if (typeof dim !== 'number' || !Number.isInteger(dim) || dim < 0) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: shape[${i}] = ${JSON.stringify(dim) ?? String(dim)} must be a non-negative integer`,
      );
    }
    if (dim > limits.maxElements) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: shape[${i}] = ${dim} exceeds the limit of ${limits.maxElements} elements`,
      );
    }
    count *= dim;
    if (count > limits.maxElements) {
      throw new FoglineError(
        'INVALID_ARG',
        `${where}: shape [${shape.join(',')}] has more than the limit of ${limits.maxElements} elements`,
      );
    }
  }
  return count;
}
