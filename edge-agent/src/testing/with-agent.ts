/** Runs a test body against a started edge agent and its first listed device, and always cleans up. */
import { type AgentFixture, startTestAgent } from './agent-fixture.ts';
import { connectTestDevice, type TestDevice } from './device-client.ts';

export type TestAgentOptions = Parameters<typeof startTestAgent>[0];

export async function withAgentAndDevice(
  options: TestAgentOptions,
  body: (fixture: AgentFixture, dev: TestDevice) => Promise<void>,
): Promise<void> {
  const device = options.devices?.[0];
  if (!device) throw new Error('withAgentAndDevice needs at least one device in options.devices');
  const fixture = await startTestAgent(options);
  try {
    const dev = await connectTestDevice({
      url: fixture.url,
      deviceId: device.id,
      token: device.token,
      edgeId: 'edge-test',
    });
    try {
      await body(fixture, dev);
    } finally {
      await dev.close();
    }
  } finally {
    await fixture.stop();
  }
}
