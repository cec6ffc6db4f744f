import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addModel, makeModelRepo, tempDir } from '../testing/cloud-fixture.ts';
import { ModelServer, withoutRepositoryPaths } from './model-server.ts';

describe('ModelServer (model lifecycle)', () => {
  const repo = makeModelRepo(['digits-tiny']);
  // A model whose config is broken must not keep the others from serving.
  mkdirSync(join(repo, 'broken', '1'), { recursive: true });
  writeFileSync(join(repo, 'broken', 'config.json'), '{"name": "broken"');
  const server = new ModelServer(repo, { workers: 1, intraOpThreads: 1 });
  afterAll(async () => {
    await server.close();
    rmSync(repo, { recursive: true, force: true });
  });

  it('is not ready until the first load pass is over', async () => {
    expect(server.ready).toBe(false);
    const loading = server.loadAll();
    expect(server.ready).toBe(false);
    await loading;
    expect(server.ready).toBe(true);
  });

  it('serves the good models and reports why the others failed', async () => {
    expect(server.resolve('digits-tiny').version).toBe(1);
    expect(() => server.resolve('broken')).toThrow(expect.objectContaining({ code: 'UNAVAILABLE' }));
    expect(await server.index()).toEqual([
      { name: 'broken', state: 'UNAVAILABLE', reason: expect.stringMatching(/not valid JSON/) },
      { name: 'digits-tiny', version: '1', state: 'READY' },
    ]);
  });

  it('tells unknown models (NOT_FOUND) from unloaded ones (UNAVAILABLE)', async () => {
    expect(() => server.resolve('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    await expect(server.load('nope')).rejects.toMatchObject({ code: 'NOT_FOUND' });
    for (const outside of ['../digits-tiny', '..', '.', 'a/b', 'a\\b', '.hidden']) {
      await expect(server.load(outside)).rejects.toMatchObject({ code: 'NOT_FOUND' });
    }
    expect(() => server.resolve('nope')).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
    expect(() => server.resolve('digits-tiny', 2)).toThrow(expect.objectContaining({ code: 'NOT_FOUND' }));
  });

  it("serves a model whose name has '..' inside it (one directory, a name the store and edges accept)", async () => {
    addModel(repo, 'digits..v2', 1, 'digits-tiny');
    const file = join(repo, 'digits..v2', 'config.json');
    writeFileSync(file, readFileSync(file, 'utf8').replace('"name": "digits-tiny"', '"name": "digits..v2"'));
    const loaded = await server.load('digits..v2');
    expect(loaded.version).toBe(1);
    expect(server.resolve('digits..v2').version).toBe(1);
  });

  it('swaps to the newest version on load and retires the old one after its queue', async () => {
    const old = server.resolve('digits-tiny');
    addModel(repo, 'digits-tiny', 2);
    const fresh = await server.load('digits-tiny');
    expect(fresh.version).toBe(2);
    expect(server.resolve('digits-tiny')).toBe(fresh);
    await expect(old.infer({ batch: 1, inputs: [new Uint8Array(784 * 4)] })).rejects.toMatchObject({
      code: 'UNAVAILABLE',
    });
  });

  it('refuses everything once closed', async () => {
    await server.close();
    expect(server.ready).toBe(false);
    expect(() => server.resolve('digits-tiny')).toThrow();
    await expect(server.load('digits-tiny')).rejects.toMatchObject({ code: 'UNAVAILABLE' });
  });
});

describe('ModelServer errors with a repository directory named `models` (relative, as given)', () => {
  const parent = tempDir('cwd');
  const cwd = process.cwd();
  mkdirSync(join(parent, 'models'));
  addModel(join(parent, 'models'), 'digits-tiny');
  // A model may itself be named `models`: its broken config is `models/config.json`.
  mkdirSync(join(parent, 'models', 'models', '1'), { recursive: true });
  writeFileSync(join(parent, 'models', 'models', 'config.json'), '{"name": "models"');
  let server: ModelServer;
  beforeAll(() => {
    process.chdir(parent);
    server = new ModelServer('models', { workers: 1, intraOpThreads: 1 });
  });
  afterAll(async () => {
    await server.close();
    process.chdir(cwd);
    rmSync(parent, { recursive: true, force: true });
  });

  it('strips the path, never the word "models"', async () => {
    await expect(server.load('digits-tiny', { backend: 'tensorflow' })).rejects.toThrow(
      'must be "onnxruntime" (fogline serves ONNX models only)',
    );
    await expect(server.load('models')).rejects.toThrow(/^models\/config\.json: not valid JSON$/);
    expect(
      withoutRepositoryPaths(`cannot read ${join(parent, 'models', 'm', 'config.json')}`, 'models'),
    ).toBe('cannot read m/config.json');
    expect(withoutRepositoryPaths('model repository /srv/models cannot be read', '/srv/models')).toBe(
      'model repository the model repository cannot be read',
    );
    expect(withoutRepositoryPaths('at http://triton:8000/v2/models/x', '/models')).toBe(
      'at http://triton:8000/v2/models/x',
    );
  });
});
