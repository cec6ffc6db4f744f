/**
 * fogline's HTTP client of another server over real node:http servers on 127.0.0.1: binary OIP infer
 * both ways on one keep-alive connection, the caller's status mapping with the remote's OIP error
 * text, JSON GET, and the transport errors (an answer past the cap closes its connection and the
 * next call gets a clean one; a call cut by its signal before or during the answer is
 * DEADLINE_EXCEEDED; a refused port is UNAVAILABLE), each in the caller's words.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import {
  BINARY_CONTENT_TYPE,
  decodeInferBody,
  encodeInferBody,
  FoglineError,
  INFERENCE_HEADER_CONTENT_LENGTH,
  type Tensor,
} from '../core/index.ts';
import { HttpClient } from './http-client.ts';
import { getJson, type InferWords, inferBinary, oipErrorText, type ReadWords } from './oip-calls.ts';

type Handler = (req: IncomingMessage, body: Buffer, res: ServerResponse) => void;

interface TestServer {
  url: string;
  /** Connections accepted so far. */
  connections: number;
  /** Connections closed so far. */
  closed: number;
  server: Server;
}

const open: { servers: Server[]; clients: HttpClient[] } = { servers: [], clients: [] };

afterEach(async () => {
  for (const client of open.clients.splice(0)) client.close();
  for (const server of open.servers.splice(0)) {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
});

async function serve(handler: Handler): Promise<TestServer> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => handler(req, Buffer.concat(chunks), res));
  });
  open.servers.push(server);
  const served: TestServer = { url: '', connections: 0, closed: 0, server };
  server.on('connection', (socket) => {
    served.connections++;
    socket.on('close', () => served.closed++);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  served.url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/prefix`;
  return served;
}

function client(url: string, maxResponseBytes = 1024 * 1024): HttpClient {
  const made = new HttpClient({
    baseUrl: url,
    maxSockets: 4,
    maxResponseBytes,
    headers: { authorization: 'Bearer secret' },
  });
  open.clients.push(made);
  return made;
}

const unreachable: string[] = [];
const words: InferWords = {
  deadline: 'the test call ran out of time',
  unreachable: (err) => {
    const code = String((err as { code?: unknown }).code);
    unreachable.push(code);
    return `the test server is unreachable (${code})`;
  },
  tooLarge: (maxBytes) => `the test answer exceeds ${maxBytes} bytes`,
  status: (answer) =>
    new FoglineError('NOT_FOUND', `test: ${oipErrorText(answer) ?? `HTTP ${answer.status}`}`),
  unreadable: 'the test answer is not an OIP body',
  noOutputs: 'the test answer has no outputs',
};

const input: Tensor = { name: 'x', datatype: 'FP32', shape: [1, 3], data: new Float32Array([1, 2, 3]) };

/** An OIP server whose model doubles its input, answering in binary (or in JSON when asked). */
const doubler: Handler = (req, body, res) => {
  const length = Number(req.headers[INFERENCE_HEADER_CONTENT_LENGTH.toLowerCase()]);
  const decoded = decodeInferBody(new Uint8Array(body), length);
  if (decoded.kind !== 'request') throw new Error('not a request');
  const x = decoded.tensors[0]!.data as Float32Array;
  const output: Tensor = { name: 'y', datatype: 'FP32', shape: [1, 3], data: x.map((v) => v * 2) };
  const asJson = decoded.header.parameters?.json === true;
  const answer = encodeInferBody(
    {
      model_name: 'doubler',
      id: decoded.header.id ?? '',
      parameters: { auth: req.headers.authorization ?? '', traceparent: String(req.headers.traceparent) },
    },
    [output],
    { binary: !asJson },
  );
  res.writeHead(200, {
    'content-type': asJson ? 'application/json' : BINARY_CONTENT_TYPE,
    ...(!asJson && { [INFERENCE_HEADER_CONTENT_LENGTH]: answer.headerLength }),
  });
  res.end(answer.body);
};

describe('HttpClient and the OIP calls over it', () => {
  it('infers in binary both ways on one keep-alive connection, with the client and call headers', async () => {
    const remote = await serve(doubler);
    const http = client(remote.url);
    for (const id of ['a', 'b', 'c']) {
      const answer = await inferBinary(http, {
        url: 'v2/models/doubler/infer',
        header: { id, parameters: { binary_data_output: true } },
        tensors: [input],
        signal: AbortSignal.timeout(5000),
        headers: { traceparent: '00-abc-def-01' },
        words,
      });
      expect(answer.header).toMatchObject({
        model_name: 'doubler',
        id,
        parameters: { auth: 'Bearer secret', traceparent: '00-abc-def-01' },
      });
      expect(Array.from(answer.tensors[0]!.data as Float32Array)).toEqual([2, 4, 6]);
    }
    // An answer in plain JSON (no header length) decodes as well.
    const json = await inferBinary(http, {
      url: http.url('v2/models/doubler/infer'),
      header: { id: 'j', parameters: { json: true } },
      tensors: [input],
      signal: AbortSignal.timeout(5000),
      words,
    });
    expect(Array.from(json.tensors[0]!.data as ArrayLike<number>)).toEqual([2, 4, 6]);
    expect(remote.connections).toBe(1);
  });

  it("gives an error answer to the caller's mapping, with the remote's OIP error text", async () => {
    const remote = await serve((req, _body, res) => {
      if (req.url?.endsWith('/missing/infer')) {
        res.writeHead(404, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'unknown model "missing"' }));
      } else if (req.url?.endsWith('/broken/infer')) {
        res.writeHead(200, { [INFERENCE_HEADER_CONTENT_LENGTH]: '999' });
        res.end('{}');
      } else {
        res.writeHead(500);
        res.end('not json');
      }
    });
    const http = client(remote.url);
    const call = (model: string) =>
      inferBinary(http, {
        url: `v2/models/${model}/infer`,
        header: { id: 'x' },
        tensors: [input],
        signal: AbortSignal.timeout(5000),
        words,
      });
    await expect(call('missing')).rejects.toMatchObject({
      code: 'NOT_FOUND',
      message: 'test: unknown model "missing"',
    });
    await expect(call('other')).rejects.toMatchObject({ message: 'test: HTTP 500' });
    await expect(call('broken')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'the test answer is not an OIP body',
    });
  });

  it('GETs JSON: the parsed body of a 200, and INTERNAL for a body that is not JSON', async () => {
    const remote = await serve((req, _body, res) => {
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(req.url === '/prefix/v2/models/m' ? JSON.stringify({ accept: req.headers.accept }) : '{');
    });
    const http = client(remote.url);
    const readWords: ReadWords = { ...words, unreadable: 'the test answer is not JSON' };
    const get = (url: string) => getJson(http, { url, signal: AbortSignal.timeout(5000), words: readWords });
    expect(await get('v2/models/m')).toEqual({ accept: 'application/json' });
    await expect(get('v2/models/other')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'the test answer is not JSON',
    });
  });

  it('refuses an answer past its cap, closes that connection, and the next call gets a clean one', async () => {
    const remote = await serve((req, _body, res) => {
      if (req.url === '/prefix/big') {
        // 64 KiB now and never the end: only the cap can end this call.
        res.writeHead(200, { 'content-length': 1024 * 1024 });
        res.write(Buffer.alloc(64 * 1024, 1));
      } else res.end('small');
    });
    const http = client(remote.url, 1024);
    const call = (url: string): Promise<string> =>
      http
        .request({ method: 'GET', url, signal: AbortSignal.timeout(5000), words })
        .then((answer) => answer.body.toString('utf8'));
    await expect(call('big')).rejects.toMatchObject({
      code: 'INTERNAL',
      message: 'the test answer exceeds 1024 bytes',
    });
    await expect.poll(() => remote.closed).toBe(1);
    expect(await call('small')).toBe('small');
    expect(remote.connections).toBe(2);
    // A call's own cap wins over the client's.
    await expect(
      http.request({
        method: 'GET',
        url: 'small',
        signal: AbortSignal.timeout(5000),
        maxResponseBytes: 2,
        words,
      }),
    ).rejects.toMatchObject({ message: 'the test answer exceeds 2 bytes' });
  });

  it('is DEADLINE_EXCEEDED when its signal aborts, before the answer or during its body', async () => {
    const remote = await serve((req, _body, res) => {
      if (req.url === '/prefix/half') {
        res.writeHead(200, { 'content-length': 100 });
        res.write('a part of the answer');
      }
      // `/prefix/silent`: no answer at all.
    });
    const http = client(remote.url);
    for (const url of ['silent', 'half']) {
      const started = performance.now();
      const err = await http.request({ method: 'GET', url, signal: AbortSignal.timeout(100), words }).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(FoglineError);
      expect(err).toMatchObject({ code: 'DEADLINE_EXCEEDED', message: 'the test call ran out of time' });
      expect(performance.now() - started).toBeLessThan(3000);
    }
    // Opening a stream that never answers is DEADLINE_EXCEEDED as well.
    await expect(
      http.open({ method: 'GET', url: 'silent', signal: AbortSignal.timeout(100), words }),
    ).rejects.toMatchObject({ code: 'DEADLINE_EXCEEDED' });
  });

  it('is UNAVAILABLE, in the caller words, when nothing listens on the port', async () => {
    const closed = await serve(() => {});
    const url = closed.url;
    await new Promise((r) => closed.server.close(r));
    open.servers.splice(open.servers.indexOf(closed.server), 1);
    const http = client(url);
    const call = { method: 'GET', url: 'v2/health/ready', signal: AbortSignal.timeout(5000), words };
    await expect(http.request(call)).rejects.toMatchObject({
      code: 'UNAVAILABLE',
      message: 'the test server is unreachable (ECONNREFUSED)',
    });
    await expect(http.open(call)).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(unreachable).toContain('ECONNREFUSED');
  });
});
