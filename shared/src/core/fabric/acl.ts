/**
 * MQTT access control of fogline (docs/design.md "Protocols", ACL): a pure function of the authenticated
 * identity and the topic, enforced by every fogline broker in `authorizePublish` / `authorizeSubscribe`.
 * Everything not explicitly allowed below is refused. Topics are compared level by level against the
 * topics built by `topics.ts`, so an id containing `/`, `+` or `#` can never match.
 *
 * | identity                         | may publish                                  | may subscribe                              |
 * |----------------------------------|----------------------------------------------|--------------------------------------------|
 * | device {id, edgeId}              | edge/{edgeId}/infer                          | device/{id}/reply                          |
 * | edge {id} (cloud broker)         | edge/{id}/status, /telemetry, /reported      | edge/{id}/desired                          |
 * | service {id, edgeId} (edge agent)| device/{any}/reply                           | edge/{edgeId}/infer                        |
 * | service {id} (cloud internal)    | device/{any}/reply, edge/{any}/desired       | edge/{any or +}/infer, status, telemetry, reported |
 *
 * No identity may use `#`; only the cloud's internal service client may use `+`, and only as a whole
 * edge-id level ([MQTT-4.7.1-3]: a wildcard occupies an entire level).
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
    case 'device':
      return t.kind === 'edge' && t.id === identity.edgeId && t.leaf === 'infer' ? ALLOW : refuse('topic');
    case 'edge':
      return t.kind === 'edge' && t.id === identity.id && EDGE_TO_CLOUD.has(t.leaf) ? ALLOW : refuse('topic');
    case 'service': {
      if (t.kind === 'device' && t.leaf === 'reply' && isValidId(t.id)) return ALLOW;
      const cloud = identity.edgeId === undefined;
      return cloud && t.kind === 'edge' && t.leaf === 'desired' && isValidId(t.id) ? ALLOW : refuse('topic');
    }
  }
}

/** May `identity` subscribe to `filter`? */
export function canSubscribe(identity: Identity, filter: string): AclDecision {
  if (!identityIsValid(identity)) return refuse('identity');
  if (filter.includes('#')) return refuse('wildcard');
  const cloudService = identity.kind === 'service' && identity.edgeId === undefined;
  if (filter.includes('+') && !cloudService) return refuse('wildcard');
  const t = parse(filter);
  if (t === null) return filter.includes('+') ? refuse('wildcard') : refuse('topic');
  switch (identity.kind) {
    case 'device':
      return t.kind === 'device' && t.id === identity.id && t.leaf === 'reply' ? ALLOW : refuse('topic');
    case 'edge':
      return t.kind === 'edge' && t.id === identity.id && t.leaf === 'desired' ? ALLOW : refuse('topic');
    case 'service': {
      if (!cloudService) {
        return t.kind === 'edge' && t.id === identity.edgeId && t.leaf === 'infer' ? ALLOW : refuse('topic');
      }
      // `+` is allowed only as the whole edge-id level; anywhere else it is refused.
      if (t.kind.includes('+') || t.leaf.includes('+')) return refuse('wildcard');
      const idOk = t.id === '+' || isValidId(t.id);
      if (!idOk) return t.id.includes('+') ? refuse('wildcard') : refuse('topic');
      return t.kind === 'edge' && CLOUD_SUBSCRIBES.has(t.leaf) ? ALLOW : refuse('topic');
    }
  }
}
