/** Models served elsewhere: a model whose config.json names an OIP `backend` (docs/cloud.md). */

export { loadRemoteInstance, type RemoteServingOptions } from './remote-instance.ts';
export { backendResolver, remoteModelPath, remoteName } from './remote-metadata.ts';
