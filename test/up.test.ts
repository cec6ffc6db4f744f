/**
 * `fogline up` as a user runs it (`npm start -- --duration N`, Ctrl-C, `--no-sim`): the whole system
 * in one process, real brokers, real models, simulated devices authenticated through the cloud's
 * admin API. Every run binds 127.0.0.1 and asks for free MQTT ports (port 1883 may be someone else's).
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { shapesCascade, typedRepository } from '@fogline/toolchain/testing';
import sharp from 'sharp';
import { afterEach, describe, expect, it } from 'vitest';

const bin = fileURLToPath(new URL('../cli/bin/fogline.js', import.meta.url));
const run = promisify(execFile);
const FREE_MQTT_PORTS = ['--mqtt-port', '0', '--edge-mqtt-port', '0'];

interface UpProcess {
  child: ChildProcess;
  /** Its --data-dir (the cloud's admin token is in cloud/admin-token). */
  dataDir: string;
  stdout: () => string;
  stderr: () => string;
  /** Resolves when stdout matches `pattern`; rejects if the process exits first or after `timeoutMs`. */
  waitForStdout(pattern: RegExp, timeoutMs?: number): Promise<RegExpExecArray>;
  /** Settles once the process has exited and its output is fully read. */
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcess>();
const cleanups: (() => void)[] = [];

afterEach(() => {
  for (const child of children)
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  children.clear();
  for (const cleanup of cleanups.splice(0)) cleanup();
});

function tempDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-up-'));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function startUp(args: string[]): UpProcess {
  const dataDir = tempDataDir();
  const child = spawn(process.execPath, [bin, 'up', '--host', '127.0.0.1', '--data-dir', dataDir, ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (d: Buffer) => {
    stdout += d.toString();
  });
  child.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
  });
  const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.once('close', (code, signal) => resolve({ code, signal })),
  );
  const waitForStdout = (pattern: RegExp, timeoutMs = 45_000) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(stdout);
        if (!m) return false;
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(m);
        return true;
      };
      const timer = setTimeout(
        () => reject(new Error(`no ${pattern} on stdout within ${timeoutMs} ms:\n${stdout}\n${stderr}`)),
        timeoutMs,
      );
      if (check()) return;
      child.stdout!.on('data', check);
      void exit.then(({ code, signal }) => {
        if (check()) return;
        clearTimeout(timer);
        reject(new Error(`fogline up exited (${code ?? signal}) first:\n${stdout}\n${stderr}`));
      });
    });
  return { child, dataDir, stdout: () => stdout, stderr: () => stderr, waitForStdout, exit };
}

/** The final summary: everything printed after the "summary" heading. */
function summaryOf(stdout: string): string {
  const at = stdout.lastIndexOf('\nsummary\n');
  return at < 0 ? '' : stdout.slice(at);
}

/** Answers of one row (device, edge, cloud, all) of a view. */
function answers(view: string, row: string): number {
  const m = new RegExp(`^${row}\\s+(\\d+)\\s`, 'm').exec(view);
  return m ? Number(m[1]) : Number.NaN;
}

/** Holds a TCP listener on a free port of 127.0.0.1 until the test ends. */
async function holdPort(): Promise<number> {
  const server: Server = createServer();
  await new Promise<void>((resolve) => server.listen({ port: 0, host: '127.0.0.1' }, resolve));
  cleanups.push(() => server.close());
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no TCP address');
  return address.port;
}

// The view printed once at start (stdout is not a TTY) lists the URLs: up is serving.
const CLOUD_HTTP_URL = /^cloud HTTP\s+(http:\/\/127\.0\.0\.1:(\d+))$/m;

describe('fogline up', () => {
  it('runs cloud, edge and 20 devices for --duration: every tier answers, then a summary and exit 0', async () => {
    // Default 20 devices × 5 req/s over the shuffled test split: ~1 % of inputs reach the edge and
    // ~1 % the cloud, so ~500 answers hold several of each (5 and 5 with the fixed stream seed; a 2 s
    // run already has one of each). A roomy deadline keeps a loaded machine from turning slow
    // escalations into degraded device answers: this test is about routing, not latency.
    const up = startUp(['--duration', '5', '--deadline-ms', '2000', '--http-port', '0', ...FREE_MQTT_PORTS]);
    const { code } = await up.exit;
    const summary = summaryOf(up.stdout());
    expect(code, up.stderr()).toBe(0);
    expect(summary, up.stdout()).not.toBe('');
    expect(answers(summary, 'all'), summary).toBeGreaterThan(200);
    expect(answers(summary, 'device'), summary).toBeGreaterThan(0);
    expect(answers(summary, 'edge'), summary).toBeGreaterThan(0);
    expect(answers(summary, 'cloud'), summary).toBeGreaterThan(0);
    const accuracy = /^all\s+\d+\s+\S+ %\s+([\d.]+) %/m.exec(summary);
    expect(Number(accuracy?.[1]), summary).toBeGreaterThan(90);
    expect(summary).toMatch(/errors: 0\b/);
    expect(summary).toMatch(/cloud breaker: closed/);
  }, 90_000);

  describe('as a long-running service', () => {
    it('runs the loop on the committed repository (controller has a baseline, drift monitor on); Ctrl-C (SIGINT) ends it with the final summary, exit 0', async () => {
      const up = startUp([
        ...['--devices', '2', '--rate', '10', '--controller-interval-ms', '300'],
        ...['--http-port', '0', ...FREE_MQTT_PORTS],
      ]);
      const [, url] = await up.waitForStdout(CLOUD_HTTP_URL);
      const token = readFileSync(join(up.dataDir, 'cloud', 'admin-token'), 'utf8').trim();
      // biome-ignore lint/suspicious/noExplicitAny: the admin API's JSON as returned
      const api = async (path: string): Promise<any> => {
        const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${token}` } });
        expect(res.status, path).toBe(200);
        return res.json();
      };
      // The committed configs carry drift.baseline (fogline calibrate --drift-only): once the edge's
      // telemetry with its devices' policy is in, the controller decides on it rather than holding
      // for lack of a baseline, and the edge's drift monitor reports (no alarm in distribution).
      const deadline = Date.now() + 30_000;
      let policy: { last_decision: { why: string } | null; current: unknown } | undefined;
      for (;;) {
        policy = await api('/api/edges/edge-1/policy');
        const why = policy?.last_decision?.why ?? '';
        if (policy?.current && why !== '' && !/reports no routing|policy$/.test(why)) break;
        if (Date.now() > deadline)
          throw new Error(`no decision with the edge's routing: ${JSON.stringify(policy)}`);
        await new Promise((r) => setTimeout(r, 300));
      }
      expect(policy?.last_decision?.why).not.toMatch(/baseline/);
      expect((await api('/api/edges/edge-1/field')).drift_alarm).toBe(false);
      up.child.kill('SIGINT');
      const { code, signal } = await up.exit;
      expect({ code, signal }, up.stderr()).toEqual({ code: 0, signal: null });
      const summary = summaryOf(up.stdout());
      expect(summary, up.stdout()).not.toBe('');
      expect(answers(summary, 'all'), summary).toBeGreaterThan(0);
      expect(summary).toMatch(/errors: 0\b/);
      expect(summary).toMatch(/fogline up — \d+ s, 2 devices × 10 req\/s/); // no --duration: ran until SIGINT
    }, 90_000);

    it('moves to a free port when its HTTP port is taken, says so, and serves there', async () => {
      const taken = await holdPort();
      const up = startUp(['--no-sim', '--http-port', String(taken), ...FREE_MQTT_PORTS]);
      const [, url, port] = await up.waitForStdout(CLOUD_HTTP_URL);
      expect(up.stderr()).toContain(
        `cloud HTTP port ${taken} is taken: using a free port instead (set --http-port to choose)`,
      );
      expect(up.stderr()).not.toMatch(/MQTT port \d+ is taken/); // the MQTT ports were free (0)
      expect(Number(port)).not.toBe(taken);
      const ready = await fetch(`${url}/v2/health/ready`);
      expect(ready.status).toBe(200);
      up.child.kill('SIGINT');
      expect((await up.exit).code, up.stderr()).toBe(0);
    }, 60_000);

    it('--no-sim serves the cloud with no simulated devices, prints the URLs, and stops on SIGINT', async () => {
      const up = startUp(['--no-sim', '--http-port', '0', ...FREE_MQTT_PORTS]);
      const [, url] = await up.waitForStdout(CLOUD_HTTP_URL);
      expect(up.stdout()).toMatch(/0 devices × 0 req\/s/);
      expect(up.stdout()).toMatch(
        /^OIP infer\s+http:\/\/127\.0\.0\.1:\d+\/v2\/models\/digits-large\/infer$/m,
      );
      expect(up.stdout()).toMatch(/^cloud MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+$/m);
      expect(up.stdout()).toMatch(/^edge MQTT\s+mqtt:\/\/127\.0\.0\.1:\d+$/m);
      const ready = await fetch(`${url}/v2/health/ready`);
      expect(ready.status).toBe(200);
      // The dashboard and the playground, on the cloud's port; `up` opens the playground to anyone.
      expect(up.stdout()).toMatch(new RegExp(`^dashboard\\s+${url}/$`, 'm'));
      expect(up.stdout()).toMatch(new RegExp(`^playground\\s+${url}/playground$`, 'm'));
      expect((await fetch(`${url}/playground/config.json`)).status).toBe(200);
      up.child.kill('SIGINT');
      const { code, signal } = await up.exit;
      expect({ code, signal }, up.stderr()).toEqual({ code: 0, signal: null });
      const summary = summaryOf(up.stdout());
      expect(answers(summary, 'all'), up.stdout()).toBe(0);
      expect(summary).toMatch(/errors: 0\b/);
    }, 60_000);
  });

  it('--models <repo> --data <images>: a user cascade (not digits) streams their labelled images, every tier answers', async () => {
    const dir = tempDataDir();
    const repo = join(dir, 'repo');
    const labels = ['circle', 'square', 'triangle', 'cross'];
    typedRepository(shapesCascade(labels), repo);
    // The device answers what it is sure of (maxprob >= 0.5); the edge never does: some inputs stay
    // on the device, the rest reach the cloud through the edge.
    for (const [name, threshold] of [
      ['shapes-tiny', 0.5],
      ['shapes-mid', 1.01],
    ] as const) {
      const file = join(repo, name, 'config.json');
      const config = JSON.parse(readFileSync(file, 'utf8'));
      writeFileSync(file, JSON.stringify({ ...config, routing: { score: 'maxprob', threshold } }));
    }
    const images = join(dir, 'images');
    for (const [k, label] of labels.entries()) {
      mkdirSync(join(images, label), { recursive: true });
      for (let i = 0; i < 3; i++) {
        const px = Buffer.from(
          Array.from({ length: 8 * 8 * 3 }, (_, j) => (j * (5 + k * 11) + i * 47) % 256),
        );
        await sharp(px, { raw: { width: 8, height: 8, channels: 3 } })
          .png()
          .toFile(join(images, label, `${i}.png`));
      }
    }
    const up = startUp([
      ...['--models', repo, '--data', images, '--devices', '2', '--rate', '10', '--duration', '3'],
      ...['--deadline-ms', '2000', '--http-port', '0', ...FREE_MQTT_PORTS],
    ]);
    const { code } = await up.exit;
    expect(code, up.stderr()).toBe(0);
    expect(up.stderr()).toContain(
      `starting cloud (shapes-large), edge (shapes-mid) and devices (shapes-tiny) streaming ${images} (12 samples)`,
    );
    expect(up.stdout()).toMatch(/^OIP infer\s+http:\/\/127\.0\.0\.1:\d+\/v2\/models\/shapes-large\/infer$/m);
    const summary = summaryOf(up.stdout());
    expect(answers(summary, 'all'), summary).toBeGreaterThan(10);
    expect(answers(summary, 'device'), summary).toBeGreaterThan(0);
    expect(answers(summary, 'cloud'), summary).toBeGreaterThan(0);
    expect(summary).toMatch(/errors: 0\b/);
  }, 90_000);

  it('--models of your own without --data: one line saying what to give, nothing started', async () => {
    const repo = join(tempDataDir(), 'repo');
    typedRepository(shapesCascade(['a', 'b']), repo);
    await expect(
      run(process.execPath, [bin, 'up', '--models', repo, '--duration', '1']),
    ).rejects.toMatchObject({
      code: 1,
      stderr: expect.stringMatching(
        new RegExp(`--models ${repo}: give --data <dataset> with labelled samples`),
      ),
    });
  });

  it('rejects a bad flag with a clear message', async () => {
    await expect(run(process.execPath, [bin, 'up', '--devices', 'many'])).rejects.toMatchObject({
      stderr: expect.stringMatching(/--devices must be an integer in 0\.\.500, got "many"/),
    });
  });
});
