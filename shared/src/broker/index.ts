/** The fogline MQTT broker (Aedes + auth + ACL + limits), shared by the cloud and every edge agent. */
export type { AclDecision, AclRefusal, Identity } from '../core/fabric/acl.ts';
export { DISCARD_TOPIC } from './authorize-hooks.ts';
export {
  BROKER_DEFAULTS,
  BROKER_RULES,
  type BrokerLogger,
  type BrokerOptions,
  FAILURE_RULES,
  type IdentityResolver,
  RATE_RULES,
  type RateOptions,
  resolveBrokerOptions,
} from './broker-options.ts';
export type { BrokerStatsSnapshot, ConnectRefusal } from './broker-stats.ts';
export {
  type BrokerAddresses,
  createBroker,
  type FoglineBroker,
  type PublishOptions,
} from './create-broker.ts';
export { coalesceWrites } from './write-coalescing.ts';
