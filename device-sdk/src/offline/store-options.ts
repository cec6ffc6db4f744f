/** The `offline: { store: 'file', … }` option of connectDevice: its fields, defaults and checks. */
import { FoglineError, nonEmptyString, positive, positiveInt, type Rule, rule } from '@fogline/shared';
import type { StoredAnswer } from './stored-answer.ts';

export interface DurableStoreOptions {
  store: 'file';
  /** Directory of the queue's segment files: created 0700; refused when group or others can reach it. */
  dir: string;
  /** Most bytes on disk; past it a new request is refused with RESOURCE_EXHAUSTED. Default 64 MiB. */
  maxBytes?: number;
  /** How long a stored request waits for its answer before it is dropped (DEADLINE_EXCEEDED). Default 24 h. */
  ttlMs?: number;
  /**
   * Answers (or expiries) of requests made before this process started, whose `infer` promises are
   * gone: once per request id. Given here, not as an event, so none is missed while connecting.
   */
  onAnswer?: (answer: StoredAnswer) => void;
}

export interface DurableStoreSettings {
  readonly dir: string;
  readonly maxBytes: number;
  readonly ttlMs: number;
  readonly onAnswer: (answer: StoredAnswer) => void;
}

export const DURABLE_STORE_DEFAULTS = Object.freeze({ maxBytes: 64 * 1024 * 1024, ttlMs: 24 * 3_600_000 });

type Check = <T>(field: string, value: unknown, r: Rule<T>) => T;

export function resolveDurableStore(o: DurableStoreOptions, check: Check): DurableStoreSettings {
  if (o === null || o.store !== 'file') {
    throw new FoglineError(
      'INVALID_ARG',
      `connectDevice: offline must be 'local', 'queue' or { store: 'file', dir }, got store ${String(o?.store)}`,
      { details: { field: 'offline.store' } },
    );
  }
  const onAnswer = o.onAnswer === undefined ? () => {} : check('offline.onAnswer', o.onAnswer, isFunction);
  return Object.freeze({
    dir: check('offline.dir', o.dir, nonEmptyString),
    maxBytes:
      o.maxBytes === undefined
        ? DURABLE_STORE_DEFAULTS.maxBytes
        : check('offline.maxBytes', o.maxBytes, positiveInt),
    ttlMs: o.ttlMs === undefined ? DURABLE_STORE_DEFAULTS.ttlMs : check('offline.ttlMs', o.ttlMs, positive),
    onAnswer,
  });
}

const isFunction = rule<(answer: StoredAnswer) => void>('a function', (v) => typeof v === 'function');
