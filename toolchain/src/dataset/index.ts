/** The dataset reader (docs/data.md): the user's labelled data as prepared model inputs. */
export {
  batchOf,
  type Dataset,
  type DatasetProgress,
  type DatasetTarget,
  type LoadDatasetOptions,
  sampleOf,
  targetOf,
  targetOfInput,
} from './dataset.ts';
export { IMAGE_EXTENSIONS } from './image-folder.ts';
export { digitsSplitOf, loadDataset } from './load-dataset.ts';
export { encodeNpy, NPY_DTYPES, type NpyArray, type NpyDtype, parseNpy } from './npy.ts';
