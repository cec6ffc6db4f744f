/**
 * Who may connect to the cloud broker (docs/design.md "Where the brokers are"; docs/brokers.md
 * "Authentication"): MQTT username = client id, password = token, told apart by the token's prefix
 * (never by trying both):
 *
 *   `fge_...`  an edge; client id = edge id           → `{ kind: 'edge', id }`
 *   `fgd_...`  a device enrolled with no edge          → `{ kind: 'device', id, edgeId: 'cloud' }`
 *
 * A token of neither form, or not of the exact shape tokens have (prefix + 43 base64url characters), is
 * refused before any lookup and takes no cache slot.
 * Both are checked against the store through a CredentialCache (one scrypt per new credential); on a
 * cloud started with --demo, the playground's public identity first (`extra`, as an edgeless device). A
 * device that belongs to an edge is refused: its broker is its edge's. The shared ACL then holds an
 * edgeless device to `edge/cloud/infer` (publish) and its own `device/{id}/reply` (subscribe).
 *
 * The cloud's own code (desired state out; status, telemetry and edgeless devices' requests in)
 * publishes and subscribes on the Aedes instance in process, so it needs no network identity.
 */

import { CLOUD_EDGE_ID, type Identity } from '@fogline/shared';
import type { IdentityResolver } from '@fogline/shared/broker';
import { isSecretShaped } from '@fogline/shared/secrets';
import type { DeviceCredentials } from '../identities/device-credentials.ts';
import type { EdgeCredentials } from '../identities/edge-credentials.ts';
import { DEVICE_TOKEN_PREFIX } from '../store/devices.ts';
import { EDGE_TOKEN_PREFIX } from '../store/edges.ts';

/** Identities outside the store: the playground's public demo identity (web/demo-playground.ts). */
export type ExtraIdentities = (clientId: string, token: string) => Identity | null;

export function cloudIdentityResolver(
  edges: EdgeCredentials,
  devices: DeviceCredentials,
  extra?: ExtraIdentities,
): IdentityResolver {
  return async (clientId, token) => {
    const other = extra?.(clientId, token);
    if (other) return other;
    if (isSecretShaped(token, EDGE_TOKEN_PREFIX)) {
      const id = await edges.lookup(clientId, token);
      return id === null ? null : ({ kind: 'edge', id } satisfies Identity);
    }
    if (isSecretShaped(token, DEVICE_TOKEN_PREFIX)) {
      const id = await devices.lookup(clientId, token);
      return id === null ? null : ({ kind: 'device', id, edgeId: CLOUD_EDGE_ID } satisfies Identity);
    }
    return null;
  };
}
