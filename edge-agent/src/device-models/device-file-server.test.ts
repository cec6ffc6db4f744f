/**
 * The edge's device file listener on a real socket (127.0.0.1, port 0) with a real file on disk:
 * what a device resuming a download gets (ETag = the file's sha256, Accept-Ranges, 206 with
 * Content-Range, 416, If-Range), a Range it does not serve ignored, and a file changed on disk
 * answered whole under its new ETag.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DeviceFileServer, startDeviceFileServer } from './device-file-server.ts';

const dir = mkdtempSync(join(tmpdir(), 'fogline-device-files-'));
const path = join(dir, 'model.onnx');
const bytes = Buffer.from(new Uint8Array(10_000).map((_, i) => i % 253));
const etagOf = (b: Uint8Array) => `"${createHash('sha256').update(b).digest('hex')}"`;
let files: DeviceFileServer;
let url: string;
const auth = { authorization: 'Bearer dev-1:tok-1' };
const get = (headers: Record<string, string> = {}) => fetch(url, { headers: { ...auth, ...headers } });

beforeAll(async () => {
  writeFileSync(path, bytes);
  files = await startDeviceFileServer(
    { port: 0, host: '127.0.0.1' },
    async (id, token) => id === 'dev-1' && token === 'tok-1',
    () => ({ model: 'digits-tiny', version: 2, path }),
  );
  url = `http://127.0.0.1:${files.port}/device-models/digits-tiny/2/model.onnx`;
});
afterAll(async () => {
  await files?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('device file listener: resumable downloads', () => {
  it('200 with a strong ETag (the sha256) and Accept-Ranges; 206 for one range, with If-Range', async () => {
    const whole = await get();
    expect(whole.status).toBe(200);
    expect(whole.headers.get('etag')).toBe(etagOf(bytes));
    expect(whole.headers.get('accept-ranges')).toBe('bytes');
    expect(Buffer.from(await whole.arrayBuffer()).equals(bytes)).toBe(true);

    const rest = await get({ range: 'bytes=4000-', 'if-range': etagOf(bytes) });
    expect(rest.status).toBe(206);
    expect(rest.headers.get('content-range')).toBe(`bytes 4000-9999/${bytes.length}`);
    expect(rest.headers.get('content-length')).toBe('6000');
    expect(Buffer.from(await rest.arrayBuffer()).equals(bytes.subarray(4000))).toBe(true);
    const middle = await get({ range: 'bytes=10-19' });
    expect(Buffer.from(await middle.arrayBuffer()).equals(bytes.subarray(10, 20))).toBe(true);
    const tail = await get({ range: 'bytes=-5' });
    expect(Buffer.from(await tail.arrayBuffer()).equals(bytes.subarray(-5))).toBe(true);
  });

  it('416 past the end; a Range it does not serve and an If-Range of other bytes get the whole file', async () => {
    const past = await get({ range: `bytes=${bytes.length}-` });
    expect(past.status).toBe(416);
    expect(past.headers.get('content-range')).toBe(`bytes */${bytes.length}`);
    await past.arrayBuffer();
    for (const headers of <Record<string, string>[]>[
      { range: 'bytes=7-3' },
      { range: 'bytes=0-1,4-5' },
      { range: 'bytes=abc' },
      { range: 'bytes=100-', 'if-range': '"other"' },
    ]) {
      const answer = await get(headers);
      expect([headers, answer.status]).toEqual([headers, 200]);
      expect(Buffer.from(await answer.arrayBuffer()).equals(bytes)).toBe(true);
    }
    // Still refuses a device that is not of this edge, ranges or not.
    expect((await fetch(url, { headers: { range: 'bytes=0-' } })).status).toBe(401);
  });

  it('a file changed on disk has a new ETag: a resume against the old one gets the new file whole', async () => {
    const before = etagOf(bytes);
    const changed = Buffer.from(bytes.map((b) => b ^ 1));
    writeFileSync(path, changed);
    const resumed = await get({ range: 'bytes=4000-', 'if-range': before });
    expect(resumed.status).toBe(200);
    expect(resumed.headers.get('etag')).toBe(etagOf(changed));
    expect(Buffer.from(await resumed.arrayBuffer()).equals(changed)).toBe(true);
  });
});
