/** @fogline/shared/http-client: fogline's HTTP client of another server, and the OIP calls over it. */
export {
  type CallWords,
  type HttpAnswer,
  type HttpCall,
  HttpClient,
  type HttpClientOptions,
  transportError,
} from './http-client.ts';
export {
  type BinaryInfer,
  getJson,
  type InferAnswer,
  type InferWords,
  inferBinary,
  type JsonGet,
  oipErrorText,
  type ReadWords,
} from './oip-calls.ts';
