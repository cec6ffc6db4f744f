/**
 * The inference engine of a model with an OIP `backend`: each batch the model's dynamic batcher forms
 * is one binary-tensor infer call to the remote server (oip-http-client.ts), so a remote model is a
 * ModelInstance like any other (statistics, response cache, validation, version swaps) and only this
 * engine differs from the local onnxruntime pool.
 *
 * Each call's timeout is the model's `timeout_ms` or the time left before the batch's earliest
 * request deadline, whichever is shorter; it sends that as `parameters.deadline_ms` too, for a
 * fogline remote. Calls go through a circuit breaker (`@fogline/shared/resilience`, as the edge's
 * towards the cloud): once the remote keeps failing, calls are refused at once with UNAVAILABLE, and
 * after `resetTimeoutMs` one probe call finds out whether it is back.
 */
import {
  BINARY_DATA_OUTPUT,
  FoglineError,
  isFoglineError,
  type ModelConfig,
  type OipBackend,
  ORT_TYPE_OF,
  type Tensor,
  type TensorDatatype,
} from '@fogline/shared';
import { CallBreaker, type CallBreakerOptions } from '@fogline/shared/resilience';
import type {
  InferenceEngine,
  RunOptions,
  TensorFeeds,
  TensorMap,
  TensorValue,
} from '@fogline/shared/runtime';
import { OipHttpClient } from './oip-http-client.ts';
import { remoteModelPath, remoteName } from './remote-metadata.ts';

export interface RemoteEngineOptions {
  readonly config: ModelConfig;
  readonly backend: OipBackend;
  /** The backend's headers with their `${ENV}` references resolved. */
  readonly headers: Readonly<Record<string, string>>;
  /** Breaker settings; defaults as the edge's (BREAKER_DEFAULTS). */
  readonly breaker?: CallBreakerOptions;
}

export function createRemoteEngine(options: RemoteEngineOptions): InferenceEngine {
  const { config, backend } = options;
  const where = remoteName(backend);
  const path = `${remoteModelPath(backend)}/infer`;
  const client = new OipHttpClient({
    url: backend.url,
    headers: options.headers,
    maxSockets: backend.max_connections,
  });
  const breaker = new CallBreaker(where, { capacity: backend.max_connections * 4, ...options.breaker });
  const datatypes = new Map<string, TensorDatatype>(
    [...config.inputs, ...config.outputs].map((t) => [t.name, t.datatype]),
  );
  const allOutputs = config.outputs.map((t) => t.name);
  let busy = 0;
  let closed = false;

  const run = async (feeds: TensorFeeds, runOptions: RunOptions = {}): Promise<TensorMap> => {
    if (closed) throw new FoglineError('UNAVAILABLE', `${where}: the model is unloaded`);
    const left =
      runOptions.deadlineAt === undefined
        ? Number.POSITIVE_INFINITY
        : runOptions.deadlineAt - performance.now();
    const timeoutMs = Math.floor(Math.min(backend.timeout_ms, left));
    if (timeoutMs < 1) {
      throw new FoglineError('DEADLINE_EXCEEDED', `budget spent before the call to ${where}`);
    }
    const tensors: Tensor[] = Object.entries(feeds).map(
      ([name, feed]) =>
        ({
          name,
          datatype: datatypes.get(name)!,
          shape: feed.dims,
          data: feed.data,
        }) as Tensor,
    );
    const wanted = runOptions.outputs ?? allOutputs;
    const header = {
      // OIP: the outputs asked for; Triton binary extension: every one of them in binary.
      parameters: { [BINARY_DATA_OUTPUT]: true, deadline_ms: timeoutMs },
      outputs: wanted.map((name) => ({ name })),
    };
    busy++;
    try {
      const answer = await breaker.fire(() =>
        client.infer(path, where, header, tensors, AbortSignal.timeout(timeoutMs)),
      );
      const out: TensorMap = {};
      for (const name of wanted) {
        const t = answer.tensors.find((x) => x.name === name);
        const datatype = datatypes.get(name);
        if (!t || t.datatype !== datatype) {
          throw new FoglineError(
            'INTERNAL',
            `${where} answered ${t ? `output "${name}" as ${t.datatype}, not ${datatype}` : `without output "${name}"`}`,
          );
        }
        // The codec's arrays for the served datatypes (FP16 as its half bits) are onnxruntime's too.
        out[name] = { data: t.data as TensorValue['data'], dims: t.shape, type: ORT_TYPE_OF[datatype] };
      }
      return out;
    } catch (err) {
      // Refused by the breaker without a call: say why in the user's terms.
      if (isFoglineError(err) && err.details?.refused === true) {
        const why = `${where} is failing: calls are refused until it answers again`;
        throw new FoglineError('UNAVAILABLE', why, { cause: err });
      }
      throw err;
    } finally {
      busy--;
    }
  };

  return {
    modelPath: `${backend.url}/${remoteModelPath(backend)}`,
    workers: backend.max_connections,
    intraOpThreads: 0,
    inputNames: config.inputs.map((t) => t.name),
    outputNames: allOutputs,
    // As the remote's metadata declares them (config.inputs was completed from it).
    inputDims: config.inputs.map((t) => t.shape),
    get busy() {
      return busy;
    },
    // Every call goes to the remote: no inline lane.
    inlineRuns: 0,
    run,
    // Nothing to warm here: the load already called the remote (its metadata).
    warmup: async () => {},
    async close() {
      if (closed) return;
      closed = true;
      breaker.shutdown();
      client.close();
    },
  };
}
