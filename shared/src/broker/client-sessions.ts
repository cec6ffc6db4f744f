/**
 * What the broker knows about each connected client: its identity, a fingerprint of the token it
 * authenticated with (SHA-256, never the token) and its publish and report token buckets.
 */
import { createHash } from 'node:crypto';
import type { Client } from 'aedes';
import type { Identity } from '../core/fabric/acl.ts';
import type { TokenBucket } from '../core/token-bucket.ts';

export interface ClientSession {
  readonly identity: Identity;
  readonly credentialFingerprint: string;
  readonly publishBucket: TokenBucket;
  /** A device's reports' own bucket: reports never take the tokens its requests need. */
  readonly reportBucket: TokenBucket;
  /**
   * The topic this client last published to that the ACL allowed: a device publishes to one topic
   * over and over, and its identity cannot change within a session, so the answer is kept.
   */
  allowedPublishTopic?: string;
  /** Disconnected by `revoke()`: its will, if any, is not published (a revoked identity says no more). */
  revoked?: boolean;
}

export function credentialFingerprint(token: string): string {
  return createHash('sha256').update(token).digest('base64url');
}

export class ClientSessions {
  readonly #byClient = new WeakMap<Client, ClientSession>();
  /** The session of the client that currently holds each client id. */
  readonly #byId = new Map<string, { client: Client; session: ClientSession }>();

  get(client: Client): ClientSession | undefined {
    return this.#byClient.get(client);
  }

  /** The live client holding `clientId`, if any. */
  holder(clientId: string): { client: Client; session: ClientSession } | undefined {
    const entry = this.#byId.get(clientId);
    return entry && !entry.client.closed ? entry : undefined;
  }

  set(client: Client, session: ClientSession): void {
    this.#byClient.set(client, session);
    this.#byId.set(client.id, { client, session });
  }

  /** Forgets `client` if it still holds its id (a takeover may already have replaced it). */
  release(client: Client): void {
    const entry = this.#byId.get(client.id);
    if (entry?.client === client) this.#byId.delete(client.id);
  }

  connected(): Array<{ clientId: string; identity: Identity }> {
    const list: Array<{ clientId: string; identity: Identity }> = [];
    for (const [clientId, { client, session }] of this.#byId) {
      if (!client.closed) list.push({ clientId, identity: session.identity });
    }
    return list;
  }
}
