/** @fogline/edge-agent/testing: test support around a real edge agent and its devices. */
export * from './agent-fixture.ts';
export * from './device-client.ts';
export * from './telemetry-checks.ts';
export * from './with-agent.ts';
