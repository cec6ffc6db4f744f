/**
 * @fogline/shared/storage: fogline's private state on disk (data dir 0700, files 0600, a process's
 * own files never opened through a link), and model files downloaded so that a broken download
 * resumes, and the one check that a path from outside stays under its directory.
 */
export { type ReplaceFileOptions, replaceFile, syncPath } from './atomic-file.ts';
export { pathEscapeOf } from './contained-path.ts';
export { diskFullErrno, diskFullError } from './disk-full.ts';
export { fileSha256 } from './file-sha256.ts';
export {
  APPEND_NEW_FILE,
  type NotOwnFile,
  type OwnFileText,
  type RefuseNotOwnFile,
  readOwnFile,
  readOwnFileSync,
} from './own-file.ts';
export {
  type DataDirOptions,
  mkdirPrivate,
  type OwnDirFault,
  ownDirFault,
  PRIVATE_DIR_MODE,
  PRIVATE_FILE_MODE,
  preparePrivateDir,
  readPrivateJson,
  syncTree,
  tightenTree,
  writePrivateFile,
} from './private-dir.ts';
export {
  answerOfResponse,
  type DownloadAnswer,
  type DownloadProgress,
  type DownloadWords,
  discardPartial,
  downloadResumable,
  partialPathOf,
  type ResumableDownload,
} from './resumable-download.ts';
