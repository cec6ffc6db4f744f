/**
 * The MQTT fabric protocol (docs/design.md "Protocols"), no I/O: topics and their ACL, requests and
 * replies (each encoder beside its reader), error replies, a serving model's side of the contract
 * (model-answer.ts) and when two tiers' models fit (tier-compat.ts), the per-request deadline, the one serve path
 * every tier that answers devices runs, the edge → device policy, device-model manifest and late-correction messages, the device → edge report messages,
 * the audit rate and where it comes from, and the body of a score histogram report.
 */
export * from './acl.ts';
export * from './audit-rate.ts';
export * from './audit-report.ts';
export * from './audit-upload.ts';
export * from './correction-message.ts';
export * from './deadline.ts';
export * from './device-model-manifest.ts';
export * from './error-reply.ts';
export * from './histogram-report.ts';
export * from './model-answer.ts';
export * from './model-deployment.ts';
export * from './parameters.ts';
export * from './policy-message.ts';
export * from './reply.ts';
export * from './report-message.ts';
export * from './request.ts';
export * from './routing-directive.ts';
export * from './server.ts';
export * from './tier-compat.ts';
export * from './topics.ts';
