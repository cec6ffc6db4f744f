/**
 * Node: the files of model updates (model-updater.ts, docs/device-sdk.md "Model updates") in
 * `<modelDir>`: the last model file downloaded, `model.onnx`, and what came of a broken try in
 * `model.onnx.partial` beside it (`downloadResumable` of '@fogline/shared/storage', the edge's own).
 * `modelDir` defaults to `<os tmpdir>/fogline-device-<deviceId>`; it must be a directory of this user
 * that others cannot write to (a shared tmp dir could hold someone else's files there).
 *
 * - A `model.onnx` that is the wanted file (its length and sha256, checked on the bytes returned) is
 *   used as it is: a try that failed after it came (the config) downloads only the config again.
 * - A partial is for one file: a download of another drops it (`downloadResumable`), and so does the
 *   wanted file once it is whole (`fetch`) or already answering (`settle`).
 * - `model.onnx` is replaced only by a checked file (renamed over it) and deleted only when it is
 *   not the file of the model answering (`settle`): the file of the model in use stays.
 */
import { createHash } from 'node:crypto';
import { lstat, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { FoglineError } from '@fogline/shared';
import { discardPartial, downloadResumable, mkdirPrivate, ownDirFault } from '@fogline/shared/storage';
import type { DeviceSettings } from './device-options.ts';
import type { ModelFiles, WantedModelFile } from './model-updater.ts';

export function modelDirOf(settings: Pick<DeviceSettings, 'deviceId' | 'modelDir'>): string {
  return settings.modelDir ?? join(tmpdir(), `fogline-device-${settings.deviceId}`);
}

export function nodeModelDownloads(settings: Pick<DeviceSettings, 'deviceId' | 'modelDir'>): ModelFiles {
  const dir = modelDirOf(settings);
  const target = join(dir, 'model.onnx');
  return {
    async fetch(download) {
      await privateDir(dir);
      const kept = await keptFile(target, download);
      if (kept !== undefined) {
        await discardPartial(target);
        return kept;
      }
      await downloadResumable({ ...download, target });
      return readFile(target);
    },
    async settle(wanted) {
      if (!(await ownDir(dir))) return; // nothing of ours there
      await discardPartial(target);
      if ((await keptFile(target, wanted)) === undefined) await rm(target, { force: true });
    },
  };
}

/** The bytes of `path` when it is the wanted file; undefined when it is not, or not there. */
async function keptFile(path: string, wanted: WantedModelFile): Promise<Uint8Array | undefined> {
  let bytes: Buffer;
  try {
    if ((await lstat(path)).size !== wanted.bytes) return undefined;
    bytes = await readFile(path);
  } catch {
    return undefined; // none (or unreadable): downloaded, replaced
  }
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  return bytes.byteLength === wanted.bytes && sha256 === wanted.sha256 ? bytes : undefined;
}

/** Creates `dir` (0700) if need be; PERMISSION_DENIED unless it is `ownDir`. */
async function privateDir(dir: string): Promise<void> {
  await mkdirPrivate(dir);
  if (!(await ownDir(dir))) {
    throw new FoglineError(
      'PERMISSION_DENIED',
      `${dir}: the device's model download directory must be a directory of this user that others cannot write to (connectDevice option modelDir)`,
    );
  }
}

/** Whether `dir` is a directory of this user that others cannot write to. */
async function ownDir(dir: string): Promise<boolean> {
  const info = await lstat(dir).catch(() => undefined);
  return info !== undefined && ownDirFault(info, 0o022) === undefined;
}
