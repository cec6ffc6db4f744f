/**
 * Who may connect to the cloud broker (DESIGN.md "Where the brokers are"; docs/brokers.md
 * "Authentication"): MQTT username = client id = edge id, password = the edge's token, checked
 * against the store through the shared CredentialCache (one scrypt per new credential).
 *
 * The cloud's own code (desired state out; status and telemetry in) publishes and subscribes on the
 * Aedes instance in process, so it needs no network identity. Devices do not connect to the cloud
 * broker yet: a device token is refused like any unknown credential (docs/cloud.md).
 */
import type { Identity } from '@fogline/shared/acl';
import type { IdentityResolver } from '@fogline/shared/broker/index';
import type { EdgeCredentials } from '../identities/edge-credentials.ts';
import { EDGE_TOKEN_PREFIX } from '../store/edges.ts';

export function cloudIdentityResolver(edges: EdgeCredentials): IdentityResolver {
  return async (clientId, token) => {
    if (!token.startsWith(EDGE_TOKEN_PREFIX)) return null;
    const id = await edges.lookup(clientId, token);
    return id === null ? null : ({ kind: 'edge', id } satisfies Identity);
  };
}
