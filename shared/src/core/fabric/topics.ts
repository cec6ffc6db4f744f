/**
 * MQTT topics of fogline (docs/design.md "Protocols"). Every topic lives under `fogline/v1/`.
 * Ids are validated before they reach a topic, so a topic never contains `+`, `#` or `/` from an id.
 */
import { isValidName } from '../names.ts';

export const TOPIC_PREFIX = 'fogline/v1';

/** Device, edge and API-key ids: the one name rule of names.ts (1–64 chars, starting alphanumeric). */
export function isValidId(id: unknown): id is string {
  return isValidName(id);
}

/**
 * The reserved edge id of the cloud itself: a device enrolled without an edge connects to the cloud
 * broker and publishes on `edge/cloud/infer`, and the cloud plays its edge (docs/design.md "Where the
 * brokers are"). No edge may be enrolled under this id.
 */
export const CLOUD_EDGE_ID = 'cloud';

export const topics = {
  /** device → edge (edge broker): inference requests of the edge's devices. */
  infer: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/infer`,
  /** edge → device (edge broker): replies for one device. */
  reply: (deviceId: string) => `${TOPIC_PREFIX}/device/${deviceId}/reply`,
  /** edge → cloud (cloud broker): retained online/offline; last will = offline. */
  status: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/status`,
  /** edge → cloud (cloud broker): periodic counters and histograms. */
  telemetry: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/telemetry`,
  /** cloud → edge (cloud broker): retained desired state (model versions, device list). */
  desired: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/desired`,
  /** edge → cloud (cloud broker): the state the edge reports back. */
  reported: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/reported`,
  /**
   * edge → its devices (edge broker): retained routing policy for the devices' model (policy-message.ts).
   * Devices subscribe; only the edge publishes.
   */
  policy: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/policy`,
  /**
   * edge → its devices (edge broker): retained manifest of the device model the edge serves
   * (device-model-manifest.ts). Devices subscribe; only the edge publishes.
   */
  deviceModel: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/model`,
  /** device → edge (edge broker): low-priority reports (audits, score histograms; report-message.ts). */
  report: (deviceId: string) => `${TOPIC_PREFIX}/device/${deviceId}/report`,
  /**
   * edge → device (edge broker): retained, the device's pending late corrections (correction-message.ts):
   * answers given degraded while the cloud was down that the cloud later answered differently.
   */
  correction: (deviceId: string) => `${TOPIC_PREFIX}/device/${deviceId}/correction`,
  /** Filter of every device's reports (`+` as the device level), for the edge agent and the cloud. */
  allReports: `${TOPIC_PREFIX}/device/+/report`,
  /** Everything an edge may touch on the cloud broker. */
  edgeSubtree: (edgeId: string) => `${TOPIC_PREFIX}/edge/${edgeId}/`,
} as const;

/** Whether `topic` matches `filter`, where `+` stands for one whole level ([MQTT-4.7.1-3]); no `#`. */
export function topicMatches(filter: string, topic: string): boolean {
  return topicMatcher(filter)(topic);
}

/**
 * `topicMatches` for one filter, prepared once: a broker's subscriber checks every message published
 * on it (requests and replies alike), so the check splits nothing and allocates nothing.
 */
export function topicMatcher(filter: string): (topic: string) => boolean {
  if (!filter.includes('+')) return (topic) => topic === filter;
  const levels = filter.split('/');
  const last = levels.length - 1;
  return (topic) => {
    let at = 0;
    for (let i = 0; i <= last; i++) {
      const slash = topic.indexOf('/', at);
      if (i === last ? slash !== -1 : slash === -1) return false;
      const end = i === last ? topic.length : slash;
      const level = levels[i]!;
      if (level !== '+' && (end - at !== level.length || !topic.startsWith(level, at))) return false;
      at = end + 1;
    }
    return true;
  };
}

/** The device id of a device topic (`fogline/v1/device/{id}/...`), or undefined. */
export function deviceIdOf(topic: string): string | undefined {
  const levels = topic.split('/');
  const prefix = TOPIC_PREFIX.split('/').length;
  const id = levels[prefix + 1];
  return levels[prefix] === 'device' && isValidId(id) ? id : undefined;
}
