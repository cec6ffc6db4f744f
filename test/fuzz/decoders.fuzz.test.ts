/**
 * Fuzz suite, in process: every decoder of outside input (decoder-targets.ts) under the mutation
 * fuzzer (mutator.ts) and fast-check (random bytes, and valid JSON messages with any field replaced
 * by any JSON value). Invariant: a value or a typed refusal, never another exception. Case count:
 * FOGLINE_FUZZ_CASES (fuzz-budget.ts); a failure prints its case as hex to reproduce it.
 */
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { DECODER_TARGETS, type DecoderTarget } from './decoder-targets.ts';
import { FUZZ_SEED, FuzzCounter, fuzzCases, fuzzTimeoutMs, outOfTime, untilDeadline } from './fuzz-budget.ts';
import { Mutator } from './mutator.ts';

const perTarget = Math.ceil(fuzzCases(0.97, 200 * DECODER_TARGETS.length) / DECODER_TARGETS.length);
const mutationCases = Math.ceil(perTarget * 0.6);
const propertyCases = perTarget - mutationCases;
const counter = new FuzzCounter('decoders');

const hex = (bytes: Uint8Array) => Buffer.from(bytes.subarray(0, 96)).toString('hex');

function run(target: DecoderTarget, bytes: Uint8Array): void {
  try {
    counter.count(target.decode(bytes));
  } catch (err) {
    counter.count('crash');
    counter.crash(`${target.name}: ${err instanceof Error ? err.stack : String(err)} on ${hex(bytes)}`);
  }
}

type Json = unknown;

/** Every place in a JSON value: a path of keys/indices. */
function paths(value: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []) {
  out.push(prefix);
  if (out.length > 512) return out;
  if (Array.isArray(value)) {
    for (const [i, v] of value.slice(0, 8).entries()) paths(v, [...prefix, i], out);
  } else if (typeof value === 'object' && value !== null) {
    for (const [k, v] of Object.entries(value)) paths(v, [...prefix, k], out);
  }
  return out;
}

/** `value` with the thing at `path` replaced (or deleted, when `replacement` is undefined). */
function replaceAt(value: Json, path: (string | number)[], replacement: Json): Json {
  if (path.length === 0) return replacement;
  const [head, ...rest] = path;
  const copy = (Array.isArray(value) ? [...value] : { ...(value as object) }) as Record<
    string | number,
    Json
  >;
  if (rest.length === 0 && replacement === undefined) delete copy[head!];
  else copy[head!] = replaceAt(copy[head!], rest, replacement);
  return copy;
}

function jsonSeeds(target: DecoderTarget): Json[] {
  const out: Json[] = [];
  for (const seed of target.seeds) {
    try {
      out.push(JSON.parse(new TextDecoder().decode(seed)));
    } catch {
      // a binary seed
    }
  }
  return out;
}

afterAll(() => {
  counter.report();
});

describe('fuzz: decoders of outside input', () => {
  for (const [index, target] of DECODER_TARGETS.entries()) {
    it(
      `${target.name}: mutated seeds give a value or a typed refusal`,
      () => {
        const mutator = new Mutator(FUZZ_SEED + index);
        for (const seed of target.seeds) expect(target.decode(seed)).toMatch(/^value/);
        for (let i = 0; i < mutationCases && !outOfTime(); i++) run(target, mutator.mutate(target.seeds));
        expect(counter.failures).toEqual([]);
      },
      fuzzTimeoutMs(mutationCases, 1),
    );

    it(
      `${target.name}: fast-check bytes and JSON fields give a value or a typed refusal`,
      () => {
        if (outOfTime()) return; // the run's time is spent (run-fuzz.ts --max-minutes)
        const seeds = jsonSeeds(target);
        const encoder = new TextEncoder();
        const bytes = fc.oneof(
          fc.uint8Array({ maxLength: 512 }),
          fc
            .tuple(fc.constantFrom(...target.seeds), fc.nat(), fc.uint8Array({ maxLength: 64 }))
            .map(([seed, cut, tail]) => {
              const head = seed.subarray(0, cut % (seed.length + 1));
              const out = new Uint8Array(head.length + tail.length);
              out.set(head);
              out.set(tail, head.length);
              return out;
            }),
        );
        const fields =
          seeds.length === 0
            ? bytes
            : fc
                .tuple(
                  fc.constantFrom(...seeds),
                  fc.array(fc.tuple(fc.nat(), fc.option(fc.jsonValue({ maxDepth: 3 }), { nil: undefined })), {
                    minLength: 1,
                    maxLength: 3,
                  }),
                )
                .map(([seed, edits]) => {
                  let value = seed;
                  for (const [at, replacement] of edits) {
                    const all = paths(value);
                    value = replaceAt(value, all[at % all.length]!, replacement);
                  }
                  return encoder.encode(JSON.stringify(value) ?? 'null');
                });
        fc.assert(
          fc.property(fc.oneof(bytes, fields), (input) => {
            run(target, input);
            return counter.failures.length === 0;
          }),
          { numRuns: propertyCases, seed: FUZZ_SEED + index, ...untilDeadline() },
        );
        expect(counter.failures).toEqual([]);
      },
      fuzzTimeoutMs(propertyCases, 1),
    );
  }
});
