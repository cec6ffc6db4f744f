/**
 * The image-folder form: `<root>/<label>/*.png|jpg|jpeg` (docs/data.md). Files are decoded with
 * sharp to 8-bit pixels and prepared with the core's `preprocessImage` per the model's config, so a
 * model sees here what it sees on a device. Folder names map to class indices through the config's
 * `labels` (without labels, folders are named by class index 0..K-1).
 */
import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { FoglineError, preprocessImage, type RawImage } from '@fogline/shared';
import {
  classCountOf,
  type Dataset,
  type DatasetTarget,
  inputOf,
  type LoadDatasetOptions,
} from './dataset.ts';

export const IMAGE_EXTENSIONS = ['.png', '.jpg', '.jpeg'] as const;

/**
 * sharp (libvips, a native binary) loads on the first image decoded, not with the toolchain: the CLI,
 * the benches and every tier import the toolchain, and only an image-folder dataset needs it.
 */
let sharpModule: Promise<typeof import('sharp')> | undefined;

/** How many files are decoded at once (sharp decodes on libuv's thread pool). */
const PARALLEL = 4;

/** Class index of each label folder; one line naming the folder the model does not know. */
function classOfFolder(root: string, folders: readonly string[], target: DatasetTarget): Map<string, number> {
  const { labels } = target.config;
  const classes = classCountOf(target);
  const out = new Map<string, number>();
  for (const name of folders) {
    const k = labels.length > 0 ? labels.indexOf(name) : /^\d+$/.test(name) ? Number(name) : -1;
    if (k < 0 || (classes !== undefined && k >= classes)) {
      const known =
        labels.length > 0
          ? `its labels are ${labels.join(', ')}`
          : `it names no labels, so class folders are named by class index, 0..${classes === undefined ? 'K-1' : classes - 1}`;
      throw new FoglineError(
        'INVALID_ARG',
        `${join(root, name)}: label folder "${name}" is not a label of the model (${target.source}: ${known})`,
        { details: { file: join(root, name), field: 'labels' } },
      );
    }
    out.set(name, k);
  }
  return out;
}

async function decode(file: string): Promise<RawImage> {
  const bytes = await readFile(file);
  sharpModule ??= import('sharp');
  const sharp = (await sharpModule).default;
  const { data, info } = await sharp(bytes, { failOn: 'error' })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  return {
    data: new Uint8Array(data.buffer, data.byteOffset, data.byteLength),
    width: info.width,
    height: info.height,
    channels: info.channels,
  };
}

export async function fromImageFolder(
  root: string,
  target: DatasetTarget,
  options: LoadDatasetOptions,
): Promise<Dataset> {
  const input = inputOf(target);
  const perSample = input.shape.slice(1).reduce((n, d) => n * d, 1);
  if (input.shape.length !== 4 || input.shape.slice(1).some((d) => d < 1)) {
    throw new FoglineError(
      'INVALID_ARG',
      `${root}: an image folder needs a model input of rank 4 with fixed H, W and C; "${input.name}" (${target.source}) has shape [${input.shape.join(', ')}]`,
    );
  }
  const folders = (await readdir(root, { withFileTypes: true }))
    .filter((e) => e.isDirectory() && !e.name.startsWith('.'))
    .map((e) => e.name)
    .sort();
  const classOf = classOfFolder(root, folders, target);
  const files: { path: string; label: number }[] = [];
  for (const folder of folders) {
    const names = (await readdir(join(root, folder))).sort();
    for (const name of names) {
      if ((IMAGE_EXTENSIONS as readonly string[]).includes(extname(name).toLowerCase()))
        files.push({ path: join(root, folder, name), label: classOf.get(folder)! });
    }
  }
  if (files.length === 0)
    throw new FoglineError(
      'INVALID_ARG',
      `${root}: no ${IMAGE_EXTENSIONS.join('/')} files in its label folders`,
    );

  const prepared: (Float32Array | undefined)[] = new Array(files.length);
  const skipped: string[] = [];
  let next = 0;
  let done = 0;
  let stopped = false;
  const bad = (path: string, reason: string): void => {
    const line = `${path}: ${reason}`;
    stopped ||= options.strict === true;
    if (options.strict) throw new FoglineError('INVALID_ARG', line, { details: { file: path } });
    skipped.push(line);
    options.onBadFile?.(line);
  };
  const worker = async (): Promise<void> => {
    while (!stopped && next < files.length) {
      const i = next++;
      const file = files[i]!;
      try {
        let image: RawImage;
        try {
          image = await decode(file.path);
        } catch (cause) {
          bad(file.path, `cannot decode it (${(cause as Error).message.split('\n')[0]})`);
          continue;
        }
        try {
          prepared[i] = preprocessImage(image, target.config);
        } catch (cause) {
          bad(file.path, (cause as Error).message);
        }
      } finally {
        options.onProgress?.({ done: ++done, total: files.length });
      }
    }
  };
  await Promise.all(Array.from({ length: PARALLEL }, worker));

  const kept = files.map((f, i) => ({ ...f, values: prepared[i] })).filter((f) => f.values !== undefined);
  if (kept.length === 0)
    throw new FoglineError('INVALID_ARG', `${root}: none of its ${files.length} images could be read`);
  const data = new Float32Array(kept.length * perSample);
  for (const [i, f] of kept.entries()) data.set(f.values!, i * perSample);
  return {
    data,
    count: kept.length,
    sampleDims: input.shape.slice(1),
    labels: Uint16Array.from(kept, (f) => f.label),
    source: root,
    skipped,
  };
}
