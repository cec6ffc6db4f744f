/**
 * The JSON header fields fogline adds to OIP messages that travel over MQTT (docs/design.md "Protocols").
 * The payload is the framed OIP binary layout: `u32le headerLength | JSON header | raw tensors`.
 * A request header is an OIP InferRequest (inputs with binary_data_size) whose `id` is the
 * correlation id and whose `parameters` carry the fields below; a reply is an OIP InferResponse.
 */

import type { ErrorCode } from '../errors.ts';
import type { OutputKind } from '../model-config.ts';
import type { Tier } from '../routing/index.ts';

/** `parameters` of a device → edge request. */
export interface FabricRequestParameters {
  /** Topic the reply goes to: `fogline/v1/device/{deviceId}/reply`. */
  reply_to: string;
  /** Remaining latency budget in ms when the message was published. */
  deadline_ms: number;
  /** The device's own score of this input (for telemetry), if it ran a model. */
  device_score?: number;
  /**
   * With `input_zero_point`: how the input's integers map to real values (real = scale × (q −
   * zero_point)), sent when the device model's input is quantized; absent, the input holds real
   * values (FP32/FP16) or plain integers. Two flat numbers, not an object: OIP `$parameters` values
   * are strings, numbers or booleans, and every tier's codec refuses anything else.
   */
  input_scale?: number;
  input_zero_point?: number;
  /** W3C traceparent of the device's trace, when it has one (docs/reliability.md "Tracing a request"). */
  traceparent?: string;
}

/** `parameters` of an edge → device reply (or cloud → device, for a device with no edge). */
export interface FabricReplyParameters {
  tier: Tier;
  degraded: boolean;
  score: number;
  /**
   * Time the edge spent on the request (queue + batch + mid model), ms; absent when no edge handled
   * it (a device connected straight to the cloud broker).
   */
  edge_ms?: number;
  /**
   * Time of the cloud call as seen by the edge, ms (or the cloud's own time when it plays the
   * device's edge); absent when the cloud was not asked.
   */
  cloud_ms?: number;
  /** e.g. "digits-mid-int8:1,digits-large:1" */
  model_versions: string;
  /** What the reply's output holds; absent means 'logits' (replies before F6 never say). */
  output_kind?: OutputKind;
  /**
   * On a degraded answer: why the upper tier's answer is missing (a catalogue code, e.g. UNAVAILABLE
   * when the cloud could not be reached, INVALID_ARG when its model does not fit the cascade).
   */
  fallback_code?: ErrorCode;
  /** One line saying what `fallback_code` stands for here. */
  fallback_message?: string;
  /** Present on error replies: a catalogue code (the header then also has `error`). */
  error_code?: ErrorCode;
}
