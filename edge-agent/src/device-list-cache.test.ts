import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DESIRED_STATE_FILE, DeviceListCache } from './device-list-cache.ts';

const hash = 'scrypt$16384$8$1$c2FsdHNhbHRzYWx0c2FsdA$aGFzaGhhc2hoYXNoaGFzaGhhc2hoYXNoaGFzaGhhc2g';
let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'fogline-cache-'));
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('DeviceListCache', () => {
  it('has nothing before the first save', async () => {
    expect(await new DeviceListCache(join(dir, 'new')).load()).toBeUndefined();
  });

  it('returns after a restart what was saved, leaving no temp files behind', async () => {
    const state = { version: 2, devices: [{ id: 'dev-1', tokenHash: hash }] };
    await new DeviceListCache(dir).save(state);
    await new DeviceListCache(dir).save({ ...state, version: 3 });
    expect(await new DeviceListCache(dir).load()).toEqual({ ...state, version: 3 });
    expect(await readdir(dir)).toEqual([DESIRED_STATE_FILE]);
  });

  it('reports a corrupt cache instead of silently starting with no devices', async () => {
    await writeFile(join(dir, DESIRED_STATE_FILE), '{"version": 1, "devi');
    await expect(new DeviceListCache(dir).load()).rejects.toMatchObject({ code: 'INTERNAL' });
  });
});
