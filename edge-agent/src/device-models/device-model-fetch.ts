/**
 * Fetches a device-tier model from the cloud's model store (docs/cloud.md "Model store"):
 * `GET {cloud}/v2/fogline/models/{name}/versions/{v}/file` and `.../config`, with the edge's
 * credential (`Bearer <edgeId>:<token>`, as cloud-client.ts sends it), bounded in size and time. The
 * file must have the bytes and sha256 the deployment named; a config that is there must be JSON.
 * The file is downloaded resumably (`downloadResumable` of '@fogline/shared/storage'): what a broken
 * try received stays in `<target>.partial` and the next try asks for the rest (Range + If-Range).
 */
import { FoglineError, httpRefusal, MAX_DEVICE_MODEL_BYTES, type ModelFile } from '@fogline/shared';
import { type CallWords, type HttpAnswer, HttpClient, transportError } from '@fogline/shared/http-client';
import { answerOfResponse, downloadResumable } from '@fogline/shared/storage';

export interface StoreAccess {
  /** The cloud URL to ask now (with several, the replica in use: cloud-replicas.ts). */
  readonly cloudUrl: () => string;
  readonly edgeId: string;
  readonly token: string;
  /** CA (PEM) trusted for an https cloud besides the system CAs. */
  readonly ca?: string;
  /** Per request; the model file's, all its pieces in one try. Default 60 s. */
  readonly timeoutMs?: number;
}

export interface FetchedDeviceModel {
  /** The config.json text, when the store has one for that version. */
  readonly config?: string;
}

const MAX_CONFIG_BYTES = 1024 * 1024;

/**
 * Downloads and verifies `file` into `target` (its directory exists), resuming the partial of an
 * earlier try; rejects with a FoglineError that says which check failed.
 */
export async function fetchDeviceModel(
  access: StoreAccess,
  file: ModelFile,
  target: string,
): Promise<FetchedDeviceModel> {
  const base = `v2/fogline/models/${encodeURIComponent(file.model)}/versions/${file.version}`;
  const label = `device model ${file.model}@${file.version}`;
  if (file.bytes > MAX_DEVICE_MODEL_BYTES) {
    throw new FoglineError(
      'INVALID_ARG',
      `${label}: ${file.bytes} bytes, more than ${MAX_DEVICE_MODEL_BYTES}`,
    );
  }
  // One connection for the file and its config, to the replica in use now, closed after.
  const client = new HttpClient({
    baseUrl: access.cloudUrl(),
    maxSockets: 1,
    maxResponseBytes: MAX_CONFIG_BYTES,
    headers: { authorization: `Bearer ${access.edgeId}:${access.token}` },
    ...(access.ca !== undefined && { ca: access.ca }),
  });
  const get = (path: string, maxBytes: number) => fetchOne(client, path, maxBytes, access.timeoutMs);
  try {
    await downloadFile(client, `${base}/file`, file, target, label, access.timeoutMs);
    const config = await get(`${base}/config`, MAX_CONFIG_BYTES);
    if (config.status === 404) return {};
    if (config.status !== 200) throw httpError(`${label} config`, config.status);
    const text = config.body.toString('utf8');
    try {
      JSON.parse(text);
    } catch (cause) {
      throw new FoglineError('INVALID_ARG', `${label}: its config is not JSON`, { cause });
    }
    return { config: text };
  } finally {
    client.close();
  }
}

/** The model file, resumable, under one deadline for all its pieces; more bytes than `file.bytes` refused. */
function downloadFile(
  client: HttpClient,
  path: string,
  file: ModelFile,
  target: string,
  label: string,
  timeoutMs = 60_000,
): Promise<void> {
  const url = client.url(path);
  const signal = AbortSignal.timeout(timeoutMs);
  const words = wordsOf(url, timeoutMs, file.bytes);
  return downloadResumable({
    target,
    bytes: file.bytes,
    sha256: file.sha256,
    open: async (headers) =>
      answerOfResponse(await client.open({ method: 'GET', url, signal, headers, words })),
    words: {
      refused: (status) => httpError(label, status),
      broken: (err) => transportError(err, signal, words),
      tooLarge: () => words.tooLarge(file.bytes),
      length: (got) => `${label}: got ${got} bytes, expected ${file.bytes}`,
      sha256: (got) => `${label}: sha256 ${got} is not the deployment's ${file.sha256}`,
    },
  });
}

/** 401, 403, 404: UNAUTHENTICATED, PERMISSION_DENIED, NOT_FOUND; any other status UNAVAILABLE (`codeForRefusal`). */
function httpError(label: string, status: number): FoglineError {
  return httpRefusal(status, `${label}: the cloud's model store answered HTTP ${status}`);
}

/** One GET within the fetch's time limit; more than `maxBytes` is the store not matching the deployment. */
function fetchOne(
  client: HttpClient,
  path: string,
  maxBytes: number,
  timeoutMs = 60_000,
): Promise<HttpAnswer> {
  const url = client.url(path);
  return client.request({
    method: 'GET',
    url,
    signal: AbortSignal.timeout(timeoutMs),
    maxResponseBytes: maxBytes,
    words: wordsOf(url, timeoutMs, maxBytes),
  });
}

function wordsOf(url: URL, timeoutMs: number, maxBytes: number): CallWords {
  return {
    deadline: `cannot fetch ${url.pathname}: no answer within ${timeoutMs} ms`,
    unreachable: (err: unknown) => `cannot fetch ${url.pathname}: ${String(err)}`,
    tooLarge: () => `${url.pathname}: more than ${maxBytes} bytes`,
    tooLargeCode: 'INVALID_ARG',
  };
}
