/** What both entry points export beside their own `connectDevice`: Node ('.') and browsers ('./browser'). */

/** The routing policy users pass as `policy` (docs/design.md "Routing"). */
export {
  DEFAULT_POLICY,
  type DeviceReport,
  type ModelConfig,
  type RawImage,
  type RoutingPolicy,
  UNCALIBRATED_THRESHOLDS,
} from '@fogline/shared';
export type { InferResult } from './answer.ts';
export type {
  CorrectedAnswer,
  CorrectionCounts,
  CorrectionListener,
  LateCorrection,
} from './corrections.ts';
export type { Device, DeviceStats, InferOptions } from './device.ts';
export type { CallbackErrorEvent, CallbackName, DeviceEvents } from './device-events.ts';
export type { DeviceInput } from './device-input.ts';
export type { ConnectDeviceOptions } from './device-options.ts';
export type { DevicePolicy, PolicyEvent, PolicySource } from './device-policy.ts';
export type { FeedbackCounts } from './feedback.ts';
export type { ModelErrorEvent, ModelEvent } from './model-updater.ts';
export type { StoreCounts } from './offline/store-and-forward.ts';
export type { DurableStoreOptions } from './offline/store-options.ts';
export type { StoredAnswer } from './offline/stored-answer.ts';
export type { ConnectionState } from './transport/mqtt-transport.ts';
