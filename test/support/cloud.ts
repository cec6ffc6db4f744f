/**
 * Test support: the real cloud gateway (`CloudServer` of @fogline/cloud) serving only digits-large on
 * a free port, with auth off, so edge-agent tests escalate to the real thing over real HTTP.
 */
import { cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CloudServer } from '@fogline/cloud';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';

export interface CloudFixture {
  readonly url: string;
  stop(): Promise<void>;
}

export async function startCloud(model = 'digits-large'): Promise<CloudFixture> {
  const dir = await mkdtemp(join(tmpdir(), 'fogline-edge-cloud-'));
  const modelsDir = join(dir, 'models');
  await cp(join(DEFAULT_MODELS_DIR, model), join(modelsDir, model), { recursive: true });
  const server = new CloudServer({
    httpPort: 0,
    host: '127.0.0.1',
    mqttPort: null,
    dataDir: join(dir, 'data'),
    modelsDir,
    auth: false,
    serving: { workers: 1, intraOpThreads: 1 },
  });
  await server.start();
  return {
    url: server.url,
    async stop() {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    },
  };
}
