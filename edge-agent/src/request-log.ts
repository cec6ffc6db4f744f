/**
 * The edge's request log (`--log-requests`, docs/reliability.md "Tracing a request"): one line per
 * request, led by the device's request id and the W3C trace id the edge sent to the cloud with it,
 * so `grep <id>` (or the trace id) follows one request across the device, edge and cloud logs.
 */
import type { AnswerReply, FabricRequest, FoglineError, Traceparent } from '@fogline/shared';

/** The request id as the cloud logs it: JSON-quoted (it is the device's text), `-` when absent. */
function quoted(id: string | undefined): string {
  return id === undefined ? '-' : JSON.stringify(id);
}

/** `request "<id>" device <device> trace <trace id>: <tier>[ degraded <code>: <why>] in <ms> ms`. */
export function answerLine(
  request: FabricRequest,
  trace: Traceparent,
  reply: AnswerReply,
  ms: number,
): string {
  const p = reply.parameters;
  const degraded = p.degraded ? ` degraded ${p.fallback_code ?? ''}: ${p.fallback_message ?? ''}` : '';
  return `request ${quoted(request.id)} device ${request.deviceId} trace ${trace.traceId}: ${p.tier}${degraded} in ${Math.round(ms)} ms`;
}

/** `request "<id>": error <code>: <message>`: the error reply the device got instead of an answer. */
export function errorLine(id: string | undefined, error: FoglineError): string {
  return `request ${quoted(id)}: error ${error.code}: ${error.message}`;
}
