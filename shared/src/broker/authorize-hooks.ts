/**
 * `authorizePublish` / `authorizeSubscribe`: the ACL of core/fabric/acl.ts plus the per-client publish token
 * bucket, and a device's report bucket of its own: reports (the lowest-priority traffic) never take the
 * tokens of its requests; over their budget they are dropped and counted, without an error reply.
 *
 * A refused SUBSCRIBE is granted 0x80 (failure) in the SUBACK [MQTT-3.9.3]; the connection stays.
 * A refused or rate-limited PUBLISH is acknowledged as usual and discarded, which [MQTT-3.3.5-2]
 * allows ("make a positive acknowledgement ... or close the Network Connection"): Aedes would close
 * the connection on a callback error, so the packet is instead re-addressed to a topic nobody can
 * subscribe to. It is counted, and a device gets an error reply on its reply topic.
 */
import type { Aedes } from 'aedes';
import { ALLOW, canPublish, canSubscribe, type Identity } from '../core/fabric/acl.ts';
import { topics } from '../core/fabric/topics.ts';
import type { ResolvedBrokerOptions } from './broker-options.ts';
import type { BrokerStats } from './broker-stats.ts';
import type { ClientSessions } from './client-sessions.ts';
import { sendDeviceErrorReply } from './device-error-reply.ts';

/** Where discarded publishes go: `$`-topics never match a client's wildcard [MQTT-4.7.2-1] and the ACL refuses them. */
export const DISCARD_TOPIC = '$fogline/discarded';

/**
 * Only edges (status, reported) and fogline's services (desired state, device policy) publish retained
 * messages; a device's lose the flag.
 */
function mayRetain(identity: Identity): boolean {
  return identity.kind !== 'device';
}

type AedesHooks = Pick<Aedes, 'authorizePublish' | 'authorizeSubscribe'>;
type PublishCallback = Parameters<Aedes['authorizePublish']>[2];

/** Accepts `packet` but sends it nowhere (see the module comment). */
function discard(packet: { topic: string; retain: boolean }, callback: PublishCallback): void {
  packet.topic = DISCARD_TOPIC;
  packet.retain = false;
  callback(null);
}

export function createAuthorizeHooks(
  options: ResolvedBrokerOptions,
  sessions: ClientSessions,
  stats: BrokerStats,
  aedes: () => Aedes,
): AedesHooks {
  const authorizePublish: Aedes['authorizePublish'] = (client, packet, callback) => {
    // A will left in persistence by a client of an earlier broker run: its topic passed the ACL at CONNECT.
    if (client === null) return callback(null);
    const session = sessions.get(client);
    if (!session) return callback(new Error('client is not authenticated'));
    const { identity } = session;
    const decision =
      session.allowedPublishTopic === packet.topic ? ALLOW : canPublish(identity, packet.topic);
    if (!decision.allowed) {
      stats.publishRefused[decision.reason]++;
      options.logger.warn('MQTT publish refused', {
        clientId: client.id,
        topic: packet.topic,
        reason: decision.reason,
      });
      if (identity.kind === 'device' && !client.closed) {
        const sent = sendDeviceErrorReply(
          aedes(),
          identity.id,
          packet.payload as Buffer,
          'PERMISSION_DENIED',
          `device "${identity.id}" may not publish to "${packet.topic}"`,
        );
        if (sent) stats.errorReplies++;
      }
      return discard(packet, callback);
    }
    session.allowedPublishTopic = packet.topic;
    if (packet.retain && !mayRetain(identity)) packet.retain = false;
    // A closed client is publishing its will: never rate limited (it happens once). A refusal drops it
    // (and Aedes deletes it from the persistence): a revoked client's, or a stale one.
    if (client.closed) {
      if (session.revoked === true) return callback(new Error('revoked client'));
      return callback(options.staleWill?.(client.id) ? new Error('stale will') : null);
    }
    if (identity.kind === 'device' && packet.topic === topics.report(identity.id)) {
      if (!session.reportBucket.tryTake().ok) {
        stats.reportsDropped++;
        return discard(packet, callback);
      }
      stats.reportsAccepted++;
      return callback(null);
    }
    const take = session.publishBucket.tryTake();
    if (!take.ok) {
      stats.rateLimited++;
      if (identity.kind === 'device') {
        const sent = sendDeviceErrorReply(
          aedes(),
          identity.id,
          packet.payload as Buffer,
          'RATE_LIMITED',
          `device "${identity.id}" is over its publish rate; retry in ${take.retryAfterMs} ms`,
          { retryAfterMs: take.retryAfterMs },
        );
        if (sent) stats.errorReplies++;
      }
      return discard(packet, callback);
    }
    callback(null);
  };

  const authorizeSubscribe: Aedes['authorizeSubscribe'] = (client, subscription, callback) => {
    const session = sessions.get(client);
    const decision = session ? canSubscribe(session.identity, subscription.topic) : null;
    if (!decision?.allowed) {
      const reason = decision?.reason ?? 'identity';
      stats.subscribeRefused[reason]++;
      options.logger.warn('MQTT subscribe refused', {
        clientId: client.id,
        topic: subscription.topic,
        reason,
      });
      // [MQTT-3.9.3]: a null subscription is granted 0x80 (failure) by Aedes.
      return callback(null, null);
    }
    callback(null, subscription);
  };

  return { authorizePublish, authorizeSubscribe };
}
