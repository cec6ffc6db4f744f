/**
 * Wires late corrections into a running edge agent (docs/edge-agent.md "Late corrections"): the
 * store in `<data-dir>/late-corrections`, the drain that asks the cloud once it is back, and the
 * outbox that sends each device its corrections. An edge with no cloud, or with
 * `lateCorrectionsMaxBytes: 0`, keeps none.
 *
 * The cloud is asked with a plain OIP inference call: it stores no record of it, so these biased
 * samples (inputs the edge met while the cloud was down) never reach the controller or a gate.
 */
import { join } from 'node:path';
import {
  type ClassAnswer,
  type CorrectionAnswer,
  encodeFabricRequest,
  type FabricRequest,
  FoglineError,
  isPrintableId,
  readFabricRequest,
} from '@fogline/shared';
import type { ResolvedAgentOptions } from './agent-options.ts';
import { callCloudModel } from './cloud-call.ts';
import type { CloudTier } from './cloud-tier.ts';
import { CorrectionOutbox } from './correction-outbox.ts';
import type { EdgeModel } from './edge-model.ts';
import { LateCorrectionDrain, type LateCorrectionDrainCounts } from './late-correction-drain.ts';
import {
  type DegradedAnswer,
  type LateCorrectionCounts,
  LateCorrectionStore,
} from './late-correction-store.ts';
import type { LocalBus } from './local-bus.ts';

/** Longest a drain call may take, ms: no device waits for it. */
const DRAIN_CALL_TIMEOUT_MS = 10_000;

export type LateCorrectionsCounts = LateCorrectionCounts & LateCorrectionDrainCounts & { sent: number };

export interface LateCorrections {
  /** Keeps a request answered degraded because the cloud could not answer it. Never throws. */
  keep(request: FabricRequest, answer: ClassAnswer): void;
  counts(): LateCorrectionsCounts;
  close(): Promise<void>;
}

export async function startLateCorrections(
  config: ResolvedAgentOptions,
  model: EdgeModel,
  cloud: CloudTier | undefined,
  bus: LocalBus,
): Promise<LateCorrections | undefined> {
  const { lateCorrectionsMaxBytes: maxBytes, lateCorrectionsTtlMs: ttlMs, logger } = config;
  if (!cloud || maxBytes === 0) return undefined;
  const warn = (message: string) => logger.warn(message);
  let outbox: CorrectionOutbox | undefined;
  const store = await LateCorrectionStore.open({
    dir: join(config.dataDir, 'late-corrections'),
    maxBytes,
    ttlMs,
    onCorrectionsChanged: (devices) => outbox?.changed(devices),
    warn,
  });
  outbox = new CorrectionOutbox({
    publish: (topic, payload, options) => bus.publish(topic, payload, options),
    correctionsOf: (device) => store.correctionsOf(device),
    warn,
  });
  // The embedded broker's retained messages died with the last process: send them again.
  outbox.changed(store.devicesWithCorrections());
  const drain = new LateCorrectionDrain({
    store,
    // Closed, or half-open with no live request to probe it: then a drain call is the probe.
    cloudUp: () => cloud.replicas.state !== 'open',
    ask: (entry) => askCloud(cloud, entry, config),
    ttlMs,
    warn,
  });
  const sweep = setInterval(() => void store.sweep(), Math.min(10_000, Math.max(100, ttlMs / 4)));
  sweep.unref();
  const sent = outbox;
  return {
    keep(request, answer) {
      const input = request.tensors[0];
      if (!isPrintableId(request.id) || input === undefined) return;
      const entry: DegradedAnswer = {
        requestId: request.id,
        device: request.deviceId,
        time: Date.now(),
        // The request as the device sent it (its input, as its model consumes it), re-encoded.
        request: encodeFabricRequest({
          id: request.id,
          replyTo: request.replyTo,
          deadlineMs: request.deadlineMs,
          deviceScore: 0,
          input,
          ...(request.inputQuantization && { inputQuantization: request.inputQuantization }),
        }),
        answer: {
          tier: 'edge',
          model: model.label,
          outputKind: model.config.output_kind,
          outputs: Array.from(answer.values),
        },
      };
      void store.add(entry).catch((err: unknown) => warn(`late corrections: ${String(err)}`));
    },
    counts: () => ({ ...store.counts(), ...drain.counts(), sent: sent.sent }),
    async close() {
      clearInterval(sweep);
      sent.close();
      drain.close();
      await store.close();
    },
  };
}

/** The cloud model's answer to a stored request, through the breaker (as a live escalation). */
async function askCloud(
  cloud: CloudTier,
  entry: DegradedAnswer,
  config: ResolvedAgentOptions,
): Promise<CorrectionAnswer> {
  const target =
    cloud.model.known() ?? (await cloud.replicas.fire((c) => cloud.model.refresh(c, DRAIN_CALL_TIMEOUT_MS)));
  if (!target.fits) throw new FoglineError('INVALID_ARG', target.message);
  let request: FabricRequest;
  try {
    request = readFabricRequest(entry.request, config);
  } catch (cause) {
    throw new FoglineError('INVALID_ARG', 'a stored request could not be read', { cause });
  }
  const result = await cloud.replicas.fire((c) =>
    callCloudModel(c, target.model, request, DRAIN_CALL_TIMEOUT_MS),
  );
  return {
    tier: 'cloud',
    model: `${result.answer.modelName}:${result.answer.modelVersion ?? 'unknown'}`,
    outputKind: result.outputKind,
    outputs: Array.from(result.scores.values),
  };
}
