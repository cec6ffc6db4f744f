/**
 * MQTT access control of fogline (docs/design.md "Protocols", ACL): a pure function of the authenticated
 * identity and the topic, enforced by every fogline broker in `authorizePublish` / `authorizeSubscribe`.
 * Everything not explicitly allowed below is refused. Topics are compared level by level against the
 * topics built by `topics.ts`, so an id containing `/`, `+` or `#` can never match.
 *
 * | identity                         | may publish                                  | may subscribe                              |
 * |----------------------------------|----------------------------------------------|--------------------------------------------|
 * | device {id, edgeId}              | edge/{edgeId}/infer, device/{id}/report      | device/{id}/reply, edge/{edgeId}/policy, /model |
 * | edge {id} (cloud broker)         | edge/{id}/status, /telemetry, /reported      | edge/{id}/desired                          |
 * | service {id, edgeId} (edge agent)| device/{any}/reply, edge/{edgeId}/policy, /model | edge/{edgeId}/infer, device/{any or +}/report |
 * | service {id} (cloud internal)    | device/{any}/reply, edge/{any}/desired, edge/{any}/policy | edge/{any or +}/infer, status, telemetry, reported; device/{any or +}/report |
 *
 * No identity may use `#`; only fogline's own service clients may use `+`, and only as a whole id
 * level ([MQTT-4.7.1-3]: a wildcard occupies an entire level): the cloud's for the edge id of its
 * edge topics and the device id of reports, an edge agent's for the device id of reports.
 */
import { isValidId, TOPIC_PREFIX } from './topics.ts';

export type Identity =
  /** A device; its broker is the broker of its edge (or the cloud broker, which then plays its edge). */
  | { readonly kind: 'device'; readonly id: string; readonly edgeId: string }
  /** An edge agent as a client of the cloud broker. */
  | { readonly kind: 'edge'; readonly id: string }
  /**
   * fogline's own client: with `edgeId`, the edge agent on its local broker; without, the cloud's
   * internal client on the cloud broker.
   */
  | { readonly kind: 'service'; readonly id: string; readonly edgeId?: string };

export type AclRefusal =
  /** `+` or `#` in a filter of a client that may not use wildcards (or `#` at all). */
  | 'wildcard'
  /** A topic outside the identity's own topics (another device's replies, another edge's subtree, ...). */
  | 'topic'
  /** The identity itself is malformed (invalid id), so it gets nothing. */
  | 'identity';

export type AclDecision =
  | { readonly allowed: true }
  | { readonly allowed: false; readonly reason: AclRefusal };

/** The one "allowed" decision (frozen, shared). */
export const ALLOW: AclDecision = Object.freeze({ allowed: true });
const refuse = (reason: AclRefusal): AclDecision => Object.freeze({ allowed: false, reason });

const PREFIX_LEVELS = TOPIC_PREFIX.split('/');
const EDGE_TO_CLOUD = new Set(['status', 'telemetry', 'reported']);
const CLOUD_SUBSCRIBES = new Set(['infer', 'status', 'telemetry', 'reported']);
const CLOUD_PUBLISHES = new Set(['desired', 'policy']);
/** What an edge publishes, retained, for its devices: their policy and their model's manifest. */
const EDGE_TO_DEVICES = new Set(['policy', 'model']);

/** `fogline/v1/<kind>/<id>/<leaf>` split into its three fogline levels, or null for any other shape. */
function parse(topic: string): { kind: string; id: string; leaf: string } | null {
  const levels = topic.split('/');
  if (levels.length !== PREFIX_LEVELS.length + 3) return null;
  for (let i = 0; i < PREFIX_LEVELS.length; i++) if (levels[i] !== PREFIX_LEVELS[i]) return null;
  const [kind, id, leaf] = levels.slice(PREFIX_LEVELS.length) as [string, string, string];
  return { kind, id, leaf };
}

function identityIsValid(identity: Identity): boolean {
  if (!isValidId(identity.id)) return false;
  if (identity.kind === 'device') return isValidId(identity.edgeId);
  if (identity.kind === 'service' && identity.edgeId !== undefined) return isValidId(identity.edgeId);
  return true;
}

function hasWildcard(topic: string): boolean {
  return topic.includes('+') || topic.includes('#');
}

/** May `identity` publish on `topic`? (Topic names never contain wildcards: [MQTT-3.3.2-2].) */
export function canPublish(identity: Identity, topic: string): AclDecision {
  if (!identityIsValid(identity)) return refuse('identity');
  if (hasWildcard(topic)) return refuse('wildcard');
  const t = parse(topic);
  if (t === null) return refuse('topic');
  switch (identity.kind) {
    case 'device': {
      const infer = t.kind === 'edge' && t.id === identity.edgeId && t.leaf === 'infer';
      const report = t.kind === 'device' && t.id === identity.id && t.leaf === 'report';
      return infer || report ? ALLOW : refuse('topic');
    }
    case 'edge':
      return t.kind === 'edge' && t.id === identity.id && EDGE_TO_CLOUD.has(t.leaf) ? ALLOW : refuse('topic');
    case 'service': {
      if (t.kind === 'device' && t.leaf === 'reply' && isValidId(t.id)) return ALLOW;
      if (t.kind !== 'edge' || !isValidId(t.id)) return refuse('topic');
      // The edge agent publishes its own devices' policy and model manifest; the cloud plays the edge
      // of direct devices.
      if (identity.edgeId !== undefined)
        return t.id === identity.edgeId && EDGE_TO_DEVICES.has(t.leaf) ? ALLOW : refuse('topic');
      return CLOUD_PUBLISHES.has(t.leaf) ? ALLOW : refuse('topic');
    }
  }
}

/** May `identity` subscribe to `filter`? */
export function canSubscribe(identity: Identity, filter: string): AclDecision {
  if (!identityIsValid(identity)) return refuse('identity');
  if (filter.includes('#')) return refuse('wildcard');
  const service = identity.kind === 'service';
  if (filter.includes('+') && !service) return refuse('wildcard');
  const t = parse(filter);
  if (t === null) return filter.includes('+') ? refuse('wildcard') : refuse('topic');
  // `+` is allowed only as a whole id level; anywhere else it is refused.
  if (t.kind.includes('+') || t.leaf.includes('+') || (t.id.includes('+') && t.id !== '+')) {
    return refuse('wildcard');
  }
  const id = t.id === '+' ? undefined : t.id;
  if (id !== undefined && !isValidId(id)) return refuse('topic');
  switch (identity.kind) {
    case 'device': {
      const reply = t.kind === 'device' && id === identity.id && t.leaf === 'reply';
      const fromEdge = t.kind === 'edge' && id === identity.edgeId && EDGE_TO_DEVICES.has(t.leaf);
      return reply || fromEdge ? ALLOW : refuse('topic');
    }
    case 'edge':
      return t.kind === 'edge' && id === identity.id && t.leaf === 'desired' ? ALLOW : refuse('topic');
    case 'service': {
      // Reports of any device of the broker: every device on an edge broker is one of its edge's.
      if (t.kind === 'device') return t.leaf === 'report' ? ALLOW : refuse('topic');
      if (identity.edgeId === undefined) {
        return t.kind === 'edge' && CLOUD_SUBSCRIBES.has(t.leaf) ? ALLOW : refuse('topic');
      }
      if (id === undefined) return refuse('wildcard');
      return t.kind === 'edge' && id === identity.edgeId && t.leaf === 'infer' ? ALLOW : refuse('topic');
    }
  }
}
