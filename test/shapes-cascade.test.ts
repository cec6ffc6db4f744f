/**
 * A user's own models and data, end to end (docs/your-models.md): the shapes family's three ONNX files
 * and its folders of labelled PNGs (models/shapes/) go through `fogline init` → `calibrate` →
 * `quantize --into` → `models check` → `models eval` → `up --data`, as the walkthrough has them; then
 * the repository it made serves real devices (device SDK, raw pixels in), a real edge agent and the
 * cloud, and every answer is checked against onnxruntime run directly on the same prepared input with
 * the model of the tier that answered.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runFogline } from '@fogline/cli/testing';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';
import {
  classProbabilities,
  type ModelConfig,
  parseModelConfig,
  preprocessImage,
  type RawImage,
  scoreLogitRows,
} from '@fogline/shared';
import * as ort from 'onnxruntime-node';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const SHAPES = new URL('../models/shapes/', import.meta.url).pathname;
const zoo = JSON.parse(readFileSync(join(SHAPES, 'zoo.json'), 'utf8')) as {
  labels: string[];
  preprocessing: { mean: number[]; std: number[] };
  models: Record<string, { accuracy: { test: number } }>;
};
const CALIBRATION = join(SHAPES, 'data', 'calibration');
const TEST = join(SHAPES, 'data', 'test');
const work = mkdtempSync(join(tmpdir(), 'fogline-shapes-'));
const repo = join(work, 'repo');
const CLI_TIMEOUT_MS = 240_000;

/** A run of the real CLI that must succeed; its output is the failure message otherwise. */
async function fogline(...args: string[]): Promise<string> {
  const out = await runFogline(...args);
  expect(out.code, `fogline ${args.join(' ')}\n${out.stdout}\n${out.stderr}`).toBe(0);
  return out.stdout;
}

function configOf(name: string): ModelConfig {
  return parseModelConfig(JSON.parse(readFileSync(join(repo, name, 'config.json'), 'utf8')), name, name);
}

/** Every `step`-th test image with its label, decoded to raw pixels. */
async function testImages(step: number): Promise<{ image: RawImage; label: number }[]> {
  const out: { image: RawImage; label: number }[] = [];
  for (const [label, name] of zoo.labels.entries()) {
    const files = readdirSync(join(TEST, name)).sort();
    for (let i = 0; i < files.length; i += step) {
      const { data, info } = await sharp(join(TEST, name, files[i]!))
        .raw()
        .toBuffer({ resolveWithObject: true });
      out.push({
        image: { data, width: info.width, height: info.height, channels: info.channels as 3 },
        label,
      });
    }
  }
  return out;
}

describe('your own models and data: the shapes family from three ONNX files to three tiers', () => {
  afterAll(() => rmSync(work, { recursive: true, force: true }));

  it(
    'init → calibrate → quantize --into → check → eval → up --data, following docs/your-models.md',
    async () => {
      const [mean, std] = [zoo.preprocessing.mean.join(','), zoo.preprocessing.std.join(',')];
      const init = await fogline(
        ...['init', repo, '--name', 'shapes', '--labels', zoo.labels.join(',')],
        ...['--device', join(SHAPES, 'shapes-tiny.onnx'), '--edge', join(SHAPES, 'shapes-mid.onnx')],
        ...['--cloud', join(SHAPES, 'shapes-large.onnx'), '--mean', mean, '--std', std],
      );
      expect(init).toMatch(/"probabilities" for shapes-large/);
      expect(configOf('shapes-large').output_kind).toBe('probabilities');
      expect(configOf('shapes-tiny').inputs[0]!.name).toBe('pixels');

      await fogline(
        ...['quantize', join(repo, 'shapes-mid', '1', 'model.onnx'), '--into', repo],
        ...['--calibration-data', CALIBRATION, '--no-latency'],
      );
      expect(configOf('shapes-mid-int8').tier).toBe('edge');

      const report = join(work, 'calibrate');
      await fogline(
        ...['calibrate', '--models', repo, '--data', CALIBRATION, '--eval-data', TEST],
        ...['--edge-model', 'shapes-mid-int8', '--report', report],
      );
      for (const name of ['shapes-tiny', 'shapes-mid-int8']) {
        expect(configOf(name).routing.threshold, name).toEqual(expect.any(Number));
      }

      expect(await fogline('models', 'check', '--models', repo)).toMatch(/compatible|OK/i);

      for (const name of ['shapes-tiny', 'shapes-large']) {
        const evaluated = JSON.parse(
          await fogline('models', 'eval', name, '--models', repo, '--data', TEST, '--json'),
        ) as { count: number; accuracy: number; skipped: unknown[] };
        expect(evaluated).toMatchObject({ count: 400, skipped: [] });
        expect(evaluated.accuracy, name).toBeCloseTo(zoo.models[name]!.accuracy.test, 4);
      }

      const up = await fogline(
        ...['up', '--models', repo, '--data', TEST, '--devices', '4', '--rate', '10', '--duration', '4'],
        ...['--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--edge-mqtt-port', '0'],
        ...['--data-dir', join(work, 'up')],
      );
      expect(up).toMatch(/errors: 0\s+degraded: 0\b/);
    },
    CLI_TIMEOUT_MS,
  );

  describe('the repository it made, served: devices send raw pixels; answers match onnxruntime', () => {
    let cloud: FabricCloud;
    let agent: EdgeAgent;
    const devices: Device[] = [];
    const sessions = new Map<string, ort.InferenceSession>();

    beforeAll(async () => {
      for (const name of ['shapes-tiny', 'shapes-mid-int8', 'shapes-large']) {
        sessions.set(name, await ort.InferenceSession.create(join(repo, name, '1', 'model.onnx')));
      }
      cloud = await startFabricCloud({ modelsDir: repo });
    }, 60_000);

    afterAll(async () => {
      for (const d of devices) await d.close().catch(() => {});
      await agent?.stop().catch(() => {});
      await cloud?.stop();
      for (const s of sessions.values()) await s.release();
    });

    /** The class probabilities `name` gives one prepared input, by onnxruntime directly. */
    async function direct(name: string, prepared: Float32Array): Promise<Float64Array> {
      const session = sessions.get(name)!;
      const out = await session.run({
        [session.inputNames[0]!]: new ort.Tensor('float32', prepared, [1, 3, 32, 32]),
      });
      return classProbabilities(
        out[session.outputNames[0]!]!.data as Float32Array,
        configOf(name).output_kind,
      );
    }

    it('every tier answers with the probabilities its own model gives the prepared input', async () => {
      const images = await testImages(10);
      const tiny = configOf('shapes-tiny');
      const prepared = images.map(({ image }) => preprocessImage(image, tiny));
      // An edge threshold halfway between the middle two margins of its model on these inputs: the
      // edge answers half of what it is sent and passes the other half to the cloud.
      const margins: number[] = [];
      for (const p of prepared) {
        const probs = await direct('shapes-mid-int8', p);
        margins.push(scoreLogitRows(probs.map(Math.log), 4, 'margin').scores[0]!);
      }
      const sorted = [...margins].sort((a, b) => a - b);
      const half = sorted.length / 2;
      const edgeThreshold = (sorted[half - 1]! + sorted[half]!) / 2;

      const edge = await cloud.admin.createEdge('edge-1');
      const tokens = {
        local: (await cloud.admin.createDevice('cam-local', 'edge-1')).token,
        up: (await cloud.admin.createDevice('cam-up', 'edge-1')).token,
      };
      agent = createEdgeAgent({
        edgeId: 'edge-1',
        token: edge.token,
        cloudUrl: cloud.url,
        cloudBrokerUrl: cloud.mqttUrl,
        localBroker: {
          kind: 'embedded',
          host: '127.0.0.1',
          mqttPort: 0,
          publishRate: { ratePerSec: 10_000, burst: 10_000 },
        },
        dataDir: join(work, 'edge'),
        modelsDir: repo,
        model: 'shapes-mid-int8',
        cloudModel: 'shapes-large',
        workers: 1,
        intraOpThreads: 1,
        routingScore: 'margin',
        routingThreshold: edgeThreshold,
      });
      const info = await agent.start();
      await eventually(() => agent.deviceListVersion !== undefined, 10_000);
      const connect = async (id: 'cam-local' | 'cam-up', threshold: number) => {
        const device = await connectDevice({
          broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
          deviceId: id,
          token: id === 'cam-local' ? tokens.local : tokens.up,
          edgeId: 'edge-1',
          runtime: 'node',
          model: join(repo, 'shapes-tiny', '1', 'model.onnx'),
          // maxprob never falls below 0: always local; margin never reaches 1.01: always escalated.
          policy: { score: id === 'cam-local' ? 'maxprob' : 'margin', threshold },
        });
        devices.push(device);
        return device;
      };
      const local = await connect('cam-local', 0);
      const up = await connect('cam-up', 1.01);

      const modelOf = { device: 'shapes-tiny', edge: 'shapes-mid-int8', cloud: 'shapes-large' } as const;
      const tiers: string[] = [];
      let correct = 0;
      for (const [i, { image, label }] of images.entries()) {
        for (const device of [local, up]) {
          const answer = await device.infer({ image }, { deadlineMs: 10_000 });
          expect(answer.degraded, JSON.stringify(answer.fallback)).toBe(false);
          const expected = await direct(modelOf[answer.tier], prepared[i]!);
          const got = Array.from(answer.outputs.probabilities);
          expect(got.length).toBe(4);
          for (let k = 0; k < 4; k++) expect(got[k]!).toBeCloseTo(expected[k]!, 4);
          expect(answer.label).toBe(expected.indexOf(Math.max(...expected)));
          expect(answer.labelName).toBe(zoo.labels[answer.label]);
          tiers.push(answer.tier);
          if (answer.label === label) correct++;
        }
      }
      expect(tiers.filter((t) => t === 'device')).toHaveLength(images.length);
      expect(tiers.filter((t) => t === 'edge').length).toBeGreaterThan(0);
      expect(tiers.filter((t) => t === 'cloud').length).toBeGreaterThan(0);
      expect(correct / tiers.length).toBeGreaterThan(0.9);
    }, 120_000);
  });
});
