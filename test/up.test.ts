/**
 * `fogline up` as a user runs it (`npm start -- --duration N`): the whole system in one process, real
 * brokers, real models, simulated devices authenticated through the cloud's admin API.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../cli/bin/fogline.js', import.meta.url));
const run = promisify(execFile);

describe('fogline up', () => {
  it('runs cloud, edge and devices for --duration and ends with a summary and exit 0', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'fogline-up-'));
    const args = ['up', '--duration', '6', '--devices', '4', '--rate', '10', '--data-dir', dataDir];
    const ports = ['--http-port', '0', '--mqtt-port', '0', '--edge-mqtt-port', '0'];
    const { stdout } = await run(process.execPath, [bin, ...args, ...ports], { timeout: 90_000 });
    const summary = stdout.slice(stdout.lastIndexOf('summary'));
    const all = /^all\s+(\d+)\s+\S+ %\s+([\d.]+) %/m.exec(summary);
    expect(all, summary).not.toBeNull();
    // ~4 devices × 10 req/s × 6 s, minus start-up: most requests were answered, and answered well.
    expect(Number(all![1])).toBeGreaterThan(100);
    expect(Number(all![2])).toBeGreaterThan(90);
    expect(summary).toMatch(/errors: 0/);
    expect(summary).toMatch(/^device\s+[1-9]\d*/m);
    expect(summary).toMatch(/cloud breaker: closed/);
  }, 120_000);

  it('rejects a bad flag with a clear message', async () => {
    await expect(run(process.execPath, [bin, 'up', '--devices', 'many'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--devices must be an integer in 0\.\.500, got "many"/),
    });
  });
});
