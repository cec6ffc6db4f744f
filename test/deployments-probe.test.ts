/**
 * Deployments under `sizing: 'probe'` (docs/edge-agent.md "Engine sizing" and "Deployments"): a
 * deployed version is sized from its own probe, as the version served at start is — read from the
 * probe cache (`<dataDir>/engine-probes.json`, per model file and machine) when this machine probed
 * it before; else it is sized as the serving version (a probe beside it would take every core and
 * measure its traffic) and probed at the next start, then cached. A real cloud and its
 * model store, its broker carrying the desired state, and a real edge agent (test/support/
 * deployment-system.ts). The versions are three different committed files of one I/O (digits-mid,
 * its INT8 copy, digits-large) pushed as digits-mid 1..3; versions 1 and 2 have probes in the cache
 * before the edge starts (made-up timings, so each gives its own sizing line), version 3 has none.
 */
import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { join } from 'node:path';
import { eventually } from '@fogline/cloud/testing';
import { DEFAULT_MODELS_DIR } from '@fogline/shared/model-repository';
import { type EngineProbe, PROBE_CACHE_FILE, probeKey, sizeFromProbe } from '@fogline/shared/runtime';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeploymentSystem, MID_ONNX, startDeploymentSystem } from './support/deployment-system.ts';

const INT8_ONNX = join(DEFAULT_MODELS_DIR, 'digits-mid-int8', '1', 'model.onnx');
const LARGE_ONNX = join(DEFAULT_MODELS_DIR, 'digits-large', '1', 'model.onnx');

/** A made-up probe: `ms` of one run at batch 1, 8, 32, 64 with 1 thread; 2 threads take 0.6 of it. */
function probe(ms: readonly number[]): EngineProbe {
  const batches = [1, 8, 32, 64];
  return {
    points: [1, 2].flatMap((threads) =>
      batches.map((batch, i) => ({ threads, batch, ms: threads === 1 ? ms[i]! : ms[i]! * 0.6 })),
    ),
  };
}
const PROBE_V1 = probe([0.4, 1.6, 5, 9.6]);
const PROBE_V2 = probe([0.2, 0.7, 2.2, 4.1]);
const whyOf = (p: EngineProbe) =>
  sizeFromProbe({ probe: p, cores: availableParallelism(), tier: 'edge', maxBatchSize: 64 }).why;
const keyOf = async (file: string) => `digits-mid|${await probeKey(file)}`;
const probeCache = (sys: DeploymentSystem) =>
  JSON.parse(readFileSync(join(sys.dataDir, PROBE_CACHE_FILE), 'utf8')) as Record<string, EngineProbe>;

let sys: DeploymentSystem;
const infos: string[] = [];
const warnings: string[] = [];
/** The sizing line of `label` logged last: what it was sized from, and how the probe was had. */
function sizing(label: string): { why: string; source: string } | undefined {
  const at = infos.findLast((l) => l.startsWith(`${label}: `));
  const m = at && /^\S+: (.*) \((probed in \d+ ms|probe read from the cache), /.exec(at);
  return m ? { why: m[1]!, source: m[2]! } : undefined;
}

beforeAll(async () => {
  sys = await startDeploymentSystem({
    edge: {
      sizing: 'probe',
      workers: undefined,
      intraOpThreads: undefined,
      logger: { info: (l) => infos.push(l), warn: (l) => warnings.push(l) },
    },
    seed: async (dataDir) => {
      const cache = { [await keyOf(MID_ONNX)]: PROBE_V1, [await keyOf(INT8_ONNX)]: PROBE_V2 };
      await writeFile(join(dataDir, PROBE_CACHE_FILE), JSON.stringify(cache), { mode: 0o600 });
    },
  });
}, 120_000);

afterAll(async () => {
  await sys?.stop();
});

describe('deployments under --sizing probe', { timeout: 120_000 }, () => {
  it("a deployed version probed on this machine before is sized from its own probe, not the serving version's", async () => {
    expect(sizing('digits-mid:1')).toEqual({ why: whyOf(PROBE_V1), source: 'probe read from the cache' });
    expect(whyOf(PROBE_V2)).not.toBe(whyOf(PROBE_V1));
    const v2 = await sys.push(2, INT8_ONNX);
    await sys.deploy({ id: 'd-probed-before', ...v2 });
    expect(await sys.settled('d-probed-before')).toMatchObject({ state: 'active', version: 2 });
    expect(sizing('digits-mid:2')).toEqual({ why: whyOf(PROBE_V2), source: 'probe read from the cache' });
    expect((await sys.device.infer(new Float32Array(784), { deadlineMs: 10_000 })).modelVersions).toBe(
      'digits-mid:2',
    );
  });

  it('a version never probed here is sized as the serving one (no probe under traffic), and probed at the next start', async () => {
    const v3 = await sys.push(3, LARGE_ONNX);
    await sys.deploy({ id: 'd-new', ...v3 });
    expect(await sys.settled('d-new')).toMatchObject({ state: 'active', version: 3 });
    const line = infos.findLast((l) => l.startsWith('digits-mid:3: '));
    expect(line).toMatch(
      /^digits-mid:3: edge sizing as the serving digits-mid:2: .*no probe of this version/,
    );
    expect(probeCache(sys)[await keyOf(LARGE_ONNX)]).toBeUndefined();

    const lines = infos.length;
    await sys.restartEdge();
    await eventually(() => infos.slice(lines).some((l) => l.startsWith('digits-mid:3: ')), 30_000);
    const probed = sizing('digits-mid:3');
    expect(probed?.source).toMatch(/^probed in \d+ ms$/);
    const cached = probeCache(sys)[await keyOf(LARGE_ONNX)];
    expect(cached?.points.length).toBeGreaterThan(0);
    expect(probed?.why).toBe(whyOf(cached!));
    expect(Object.keys(probeCache(sys))).toHaveLength(3);
  });
});
