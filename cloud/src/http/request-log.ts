/**
 * The cloud's request log (`--log-requests`, docs/reliability.md "Tracing a request"): one line per
 * OIP infer request, with the OIP request `id` (an edge sends the device's request id) and the trace
 * id of the caller's W3C `traceparent` header, so `grep <id>` follows one request across the tiers'
 * logs. A `traceparent` that is not valid is logged as `-` (W3C: the callee starts afresh).
 */
import { type FoglineError, parseTraceparent } from '@fogline/shared';
import type { RequestView } from './request-view.ts';

/** `infer <model>[/<version>] request <id> trace <trace id>: <status>[ <code>: <message>] in <ms> ms`. */
export function requestLine(
  view: RequestView,
  id: string | undefined,
  status: number,
  started: number,
  error?: FoglineError,
): string {
  const version = view.param('version');
  // Client text: the model name is shown with anything unusual as `?`, the id JSON-quoted.
  const model = `${view.param('model') ?? '?'}${version === undefined ? '' : `/${version}`}`.replace(
    /[^\w.\-/]/g,
    '?',
  );
  const trace = parseTraceparent(view.header('traceparent'))?.traceId ?? '-';
  const failed = error === undefined ? '' : ` ${error.code}: ${error.message}`;
  const ms = Math.round(performance.now() - started);
  return `infer ${model} request ${id === undefined ? '-' : JSON.stringify(id)} trace ${trace}: ${status}${failed} in ${ms} ms`;
}
