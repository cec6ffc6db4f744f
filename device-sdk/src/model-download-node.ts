/**
 * Node: a model update downloaded resumably (model-updater.ts, docs/device-sdk.md "Model updates")
 * into `<modelDir>/model.onnx`, what came of a broken try kept in `model.onnx.partial` beside it
 * (`downloadResumable` of '@fogline/shared/storage', the edge's own). `modelDir` defaults to
 * `<os tmpdir>/fogline-device-<deviceId>`; it must be a directory of this user that others cannot
 * write to (a shared tmp dir could hold someone else's files there).
 */
import { lstat, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { downloadResumable, mkdirPrivate } from '@fogline/shared/storage';
import type { DeviceSettings } from './device-options.ts';
import type { ResumableModelDownload } from './model-updater.ts';

export function modelDirOf(settings: Pick<DeviceSettings, 'deviceId' | 'modelDir'>): string {
  return settings.modelDir ?? join(tmpdir(), `fogline-device-${settings.deviceId}`);
}

export function nodeModelDownloads(
  settings: Pick<DeviceSettings, 'deviceId' | 'modelDir'>,
): ResumableModelDownload {
  const dir = modelDirOf(settings);
  return async (download) => {
    await mkdirPrivate(dir);
    const info = await lstat(dir);
    const uid = process.getuid?.();
    if (!info.isDirectory() || (uid !== undefined && info.uid !== uid) || (info.mode & 0o022) !== 0) {
      throw new FoglineError(
        'PERMISSION_DENIED',
        `${dir}: the device's model download directory must be a directory of this user that others cannot write to (connectDevice option modelDir)`,
      );
    }
    const target = join(dir, 'model.onnx');
    await downloadResumable({ ...download, target });
    return readFile(target);
  };
}
