/** @fogline/edge-agent/testing: test support around a real edge agent and its devices (no vitest imports: benches use it too). */
export * from './agent-fixture.ts';
export * from './deployable-edge.ts';
export * from './device-client.ts';
export * from './with-agent.ts';
