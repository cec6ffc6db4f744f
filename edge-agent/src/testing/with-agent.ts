/** A started edge agent with its devices connected: one device at a time, or a whole test body. */
import { type AgentFixture, startTestAgent, type TestDeviceCredential } from './agent-fixture.ts';
import { connectTestDevice, type TestDevice } from './device-client.ts';

export type TestAgentOptions = Parameters<typeof startTestAgent>[0];

/** Connects `device` to the agent's broker as a device of the agent's edge. */
export function connectAgentDevice(fixture: AgentFixture, device: TestDeviceCredential): Promise<TestDevice> {
  return connectTestDevice({
    url: fixture.url,
    deviceId: device.id,
    token: device.token,
    edgeId: fixture.info.edgeId,
  });
}

/** Runs a test body against a started edge agent and its first listed device, and always cleans up. */
export async function withAgentAndDevice(
  options: TestAgentOptions,
  body: (fixture: AgentFixture, dev: TestDevice) => Promise<void>,
): Promise<void> {
  const device = options.devices?.[0];
  if (!device) throw new Error('withAgentAndDevice needs at least one device in options.devices');
  const fixture = await startTestAgent(options);
  try {
    const dev = await connectAgentDevice(fixture, device);
    try {
      await body(fixture, dev);
    } finally {
      await dev.close();
    }
  } finally {
    await fixture.stop();
  }
}
