/**
 * One OIP call to the cloud model (docs/design.md "One inference, end to end", step 4), the one way
 * the edge asks it, for a live request and for a late correction alike: the device's input converted
 * for the cloud model's input, its first output read per the model's metadata. A bad answer is a
 * failure like a failed call. The caller runs it through the replicas' breakers (cloud-replicas.ts). The request id goes as the OIP
 * `id` and its trace as the `traceparent` header (docs/reliability.md "Tracing a request").
 */
import {
  type ClassAnswer,
  childTraceparent,
  FoglineError,
  formatTraceparent,
  type RequestTensors,
  readClassAnswer,
  servingInput,
  type Traceparent,
} from '@fogline/shared';
import type { CloudAnswer, CloudClient } from './cloud-client.ts';
import type { CloudModelView } from './cloud-model.ts';

export interface CloudResult {
  readonly answer: CloudAnswer;
  readonly scores: ClassAnswer;
  readonly outputKind: CloudModelView['outputKind'];
}

export async function callCloudModel(
  /** The replica asked (cloud-replicas.ts picks it). */
  client: Pick<CloudClient, 'infer'>,
  target: CloudModelView,
  request: RequestTensors & { readonly id: string | undefined; readonly traceparent?: Traceparent },
  timeoutMs: number,
  /** The `traceparent` header sent; default a child of the request's trace, or a new trace. */
  traceparent = formatTraceparent(childTraceparent(request.traceparent)),
): Promise<CloudResult> {
  const input = servingInput(request, target.input);
  const answer = await client.infer(
    request.id ?? 'edge',
    [input],
    timeoutMs,
    [target.output.name],
    traceparent,
  );
  const output = answer.outputs.find((t) => t.name === target.output.name);
  if (output === undefined) {
    throw new FoglineError('INTERNAL', `cloud answered without its output "${target.output.name}"`);
  }
  const scores = readClassAnswer(output.data, target.output, target.outputKind, answer.modelName);
  return { answer, scores, outputKind: target.outputKind };
}
