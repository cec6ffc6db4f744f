/**
 * W3C Trace Context `traceparent` (https://www.w3.org/TR/trace-context/ §3.2): `VV-TTTT…-PPPP…-FF`,
 * the version (2 hex), trace id (32 hex, not all zero), parent id (16 hex, not all zero) and flags
 * (2 hex), lower case. Parsed strictly: version `ff` is invalid; version `00` is exactly 55
 * characters; a later version may add fields after a `-` (§3.2.4), which are dropped. Each tier that
 * calls the next sends a child: the same trace id, a new parent id of its own (docs/reliability.md
 * "Tracing a request"). Random ids come from Web Crypto, so this runs in browsers too.
 */

export interface Traceparent {
  readonly traceId: string;
  readonly parentId: string;
  /** The trace flags byte, 2 hex digits (`01`: sampled). */
  readonly flags: string;
}

const HEADER = /^([0-9a-f]{2})-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})(-.*)?$/;

/** The traceparent in `value`, or undefined when it is not a valid one (W3C: then start a new trace). */
export function parseTraceparent(value: unknown): Traceparent | undefined {
  if (typeof value !== 'string' || value.length > 512) return undefined;
  const match = HEADER.exec(value);
  if (!match) return undefined;
  const [, version, traceId, parentId, flags, rest] = match as unknown as [
    string,
    string,
    string,
    string,
    string,
    string?,
  ];
  if (version === 'ff') return undefined;
  if (version === '00' && rest !== undefined) return undefined;
  if (/^0+$/.test(traceId) || /^0+$/.test(parentId)) return undefined;
  return { traceId, parentId, flags };
}

/** The header value of `tp` (version 00). */
export function formatTraceparent(tp: Traceparent): string {
  return `00-${tp.traceId}-${tp.parentId}-${tp.flags}`;
}

/** A child of `parent` (same trace, new parent id, same flags), or a new sampled trace without one. */
export function childTraceparent(parent?: Traceparent): Traceparent {
  return {
    traceId: parent?.traceId ?? randomHex(16),
    parentId: randomHex(8),
    flags: parent?.flags ?? '01',
  };
}

/** `bytes` random bytes as lower-case hex, never all zero. */
function randomHex(bytes: number): string {
  const buf = new Uint8Array(bytes);
  do globalThis.crypto.getRandomValues(buf);
  while (buf.every((b) => b === 0));
  return Array.from(buf, (b) => b.toString(16).padStart(2, '0')).join('');
}
