/**
 * Fuzz suite, over real sockets: a real CloudServer (digits-tiny, auth off) takes mutated OIP infer
 * requests, JSON and binary (KServe v2 binary extension: JSON header + raw tensor bytes, with
 * Inference-Header-Content-Length telling the truth or lying), then raw HTTP bytes (mutated request
 * heads, Content-Length lies, truncated bodies). Invariants: every answer is 2xx or 4xx (never 5xx),
 * the server stays up (a valid request is answered after each batch), RSS bounded.
 */
import { connect } from 'node:net';
import {
  binaryInferRequest,
  digits,
  jsonInferBody,
  makeModelRepo,
  type RunningCloud,
  startCloud,
} from '@fogline/cloud/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../../cloud/src/testing/raw-http.ts';
import { FUZZ_SEED, FuzzCounter, fuzzCases, fuzzTimeoutMs, outOfTime } from './fuzz-budget.ts';
import { concat, Mutator } from './mutator.ts';

const INFER = '/v2/models/digits-tiny/infer';
const cases = fuzzCases(0.02, 150);
const rawCases = Math.max(40, Math.ceil(cases * 0.2));
const counter = new FuzzCounter('http');
const utf8 = new TextEncoder();
let cloud: RunningCloud;

beforeAll(async () => {
  cloud = await startCloud({
    auth: false,
    modelsDir: makeModelRepo(['digits-tiny']),
    serving: { workers: 1, intraOpThreads: 1 },
  });
  await expectAlive();
  counter.baseline();
}, 120_000);

afterAll(async () => {
  counter.report();
  await cloud?.stop();
});

const { images } = digits(2);
const one = images.subarray(0, 784);
const jsonSeeds = [
  utf8.encode(jsonInferBody(one, { id: 'j1' })),
  utf8.encode(jsonInferBody(images, { outputs: [{ name: 'logits', parameters: { binary_data: true } }] })),
];
/** Binary seeds carry their Inference-Header-Content-Length as a u32 prefix, so mutations can make it lie. */
const binarySeeds = [one, images].map((img) => {
  const { body, headers } = binaryInferRequest(img);
  const prefix = new Uint8Array(4);
  new DataView(prefix.buffer).setUint32(0, Number(headers['inference-header-content-length']), true);
  return concat(prefix, body);
});
const HEADER_LIES = ['-1', '0', 'abc', '1e3', '99999999999', '', ' 12', '0x10', '3.5'];

async function expectAlive(): Promise<void> {
  const res = await rawRequest(cloud.url, 'POST', INFER, jsonSeeds[0]!, {
    'content-type': 'application/json',
  });
  expect(res.status).toBe(200);
}

/** Runs `count` cases, `concurrency` at a time. */
async function pool(count: number, concurrency: number, one: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      while (next < count && !outOfTime()) await one(next++);
    }),
  );
}

function tallyStatus(status: number, what: () => string): void {
  counter.count(String(status));
  if (status >= 500) counter.fiveHundred(`${status} on ${what()}`);
}

describe('fuzz: OIP infer over HTTP (real cloud)', () => {
  it(
    'mutated JSON and binary infer bodies get 2xx or 4xx, never 5xx',
    async () => {
      const mutator = new Mutator(FUZZ_SEED);
      const batches = 10;
      for (let b = 0; b < batches; b++) {
        await pool(Math.ceil((cases - rawCases) / batches), 4, async () => {
          const binary = mutator.int(2) === 0;
          let body: Uint8Array;
          const headers: Record<string, string> = {};
          if (binary) {
            const bytes = mutator.mutate(binarySeeds);
            const view = bytes.length >= 4 ? new DataView(bytes.buffer, bytes.byteOffset) : undefined;
            headers['content-type'] = 'application/octet-stream';
            headers['inference-header-content-length'] =
              mutator.int(10) === 0 || !view ? mutator.pick(HEADER_LIES) : String(view.getUint32(0, true));
            body = bytes.subarray(Math.min(4, bytes.length));
          } else {
            body = mutator.mutate(jsonSeeds);
            headers['content-type'] = mutator.int(8) === 0 ? 'text/plain' : 'application/json';
          }
          if (mutator.int(20) === 0)
            headers['content-encoding'] = mutator.pick(['gzip', 'deflate', 'br', 'x']);
          const res = await rawRequest(cloud.url, 'POST', INFER, body, headers);
          tallyStatus(
            res.status,
            () => `${JSON.stringify(headers)} ${Buffer.from(body.subarray(0, 64)).toString('hex')}`,
          );
        });
        counter.sampleRss();
        // Bounded: the process (the cloud included) grows at most this much over its warmed-up RSS.
        expect(counter.rssGrowthMb).toBeLessThan(512);
        await expectAlive();
      }
      expect(counter.failures).toEqual([]);
      expect(counter.tally.status5xx).toBe(0);
    },
    fuzzTimeoutMs(cases, 20),
  );

  it(
    'raw HTTP bytes (mutated heads, Content-Length lies, truncation) get no 5xx and the server stays up',
    async () => {
      const mutator = new Mutator(FUZZ_SEED + 1);
      const port = new URL(cloud.url).port;
      const head = (body: Uint8Array, extra = '') =>
        utf8.encode(
          `POST ${INFER} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nContent-Type: application/json\r\n` +
            `Content-Length: ${body.length}\r\n${extra}Connection: close\r\n\r\n`,
        );
      const seeds = [
        concat(head(jsonSeeds[0]!), jsonSeeds[0]!),
        concat(
          head(binarySeeds[0]!.subarray(4), 'Inference-Header-Content-Length: 200\r\n'),
          binarySeeds[0]!.subarray(4),
        ),
        utf8.encode(`GET /v2/health/ready HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`),
      ];
      await pool(rawCases, 4, async () => {
        const bytes = mutator.mutate(seeds);
        const status = await rawExchange(Number(port), bytes);
        if (status === undefined) counter.count('closed');
        else tallyStatus(status, () => Buffer.from(bytes.subarray(0, 200)).toString('latin1'));
      });
      await expectAlive();
      expect(counter.failures).toEqual([]);
    },
    fuzzTimeoutMs(rawCases, 50),
  );
});

/** Writes `bytes`, half-closes, and reads the status of the first answer (undefined: closed without one). */
function rawExchange(port: number, bytes: Uint8Array): Promise<number | undefined> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let received = '';
    const done = () => {
      clearTimeout(timer);
      socket.destroy();
      const match = /^HTTP\/1\.[01] (\d{3})/.exec(received);
      resolve(match ? Number(match[1]) : undefined);
    };
    // A request the server still waits on after the half-close counts as closed.
    const timer = setTimeout(done, 10_000);
    socket.on('connect', () => socket.end(bytes));
    socket.on('data', (chunk) => {
      received += chunk.toString('latin1');
      if (received.includes('\r\n')) done();
    });
    socket.on('error', done);
    socket.on('close', done);
  });
}
