/**
 * The cloud of `npm run bench -- auth-flood` as a deployment runs it: `fogline cloud` in its own
 * process on 127.0.0.1 (digits-tiny, one worker, one intra-op thread, its own data dir), so that the
 * valid client's timing does not share the cloud's event loop. `phase()` starts a measurement of what
 * the cloud spent: its event-loop delay from its own /metrics (prom-client's default gauges, whose
 * histogram each scrape reads and resets), its CPU time (/proc) and its failed authentications.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type FoglineProcess, startFoglineProcess } from '@fogline/cli/testing';
import { CloudAdminClient, resolveAdminTarget } from '@fogline/cloud';
import { makeModelRepo } from '@fogline/cloud/testing';
import { processCpuMicros } from '../lib/process-counters.ts';

type CloudReadyLine = { http: { url: string }; mqtt: { url: string } };

/** Per-address budget flags: none for the default limits, or these. */
export interface AuthFailFlags {
  ratePerSec: number;
  burst: number;
}

export interface CloudCost {
  loopDelayP50Ms: number;
  loopDelayP99Ms: number;
  /** CPU time (user + system, all threads) the cloud process spent, ms. */
  cpuMs: number;
  /** `fogline_auth_failures_total` by reason (invalid: 401 after a lookup; throttled: 429 before one). */
  authFailures: Record<string, number>;
}

/** The value of each sample of `name` in Prometheus text, keyed by its labels ('' for none). */
function samples(text: string, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const m = /^(\S+?)(\{[^}]*\})? (\S+)$/.exec(line);
    if (m?.[1] === name) out.set(m[2] ?? '', Number(m[3]));
  }
  return out;
}

export async function startCloudProcess(authFail: AuthFailFlags | undefined) {
  const root = mkdtempSync(join(tmpdir(), 'fogline-auth-flood-'));
  const models = makeModelRepo(['digits-tiny']);
  let proc: FoglineProcess<CloudReadyLine> | undefined;
  const stop = async () => {
    await proc?.stop();
    rmSync(root, { recursive: true, force: true });
    rmSync(models, { recursive: true, force: true });
  };
  try {
    const dataDir = join(root, 'cloud');
    proc = await startFoglineProcess<CloudReadyLine>([
      ...['cloud', '--host', '127.0.0.1', '--http-port', '0', '--mqtt-port', '0', '--data-dir', dataDir],
      ...['--models', models, '--cloud-model', 'digits-tiny', '--sizing', 'default'],
      ...['--workers', '1', '--intra-op-threads', '1'],
      ...(authFail
        ? ['--auth-fail-rate', String(authFail.ratePerSec), '--auth-fail-burst', String(authFail.burst)]
        : []),
    ]);
    const admin = new CloudAdminClient(await resolveAdminTarget({ dataDir }));
    const { http, mqtt } = proc.ready;
    const pid = proc.child.pid!;
    const scrape = async () => {
      const res = await fetch(new URL('/metrics', http.url));
      if (!res.ok) throw new Error(`auth-flood: the cloud's /metrics answered ${res.status}`);
      return res.text();
    };
    /** Starts measuring the cloud's cost; the returned function ends the phase and gives it. */
    const phase = async () => {
      // A scrape reads and resets the cloud's event-loop delay histogram: the phase's starts empty.
      const before = samples(await scrape(), 'fogline_auth_failures_total');
      const cpu = processCpuMicros(pid);
      return async (): Promise<CloudCost> => {
        const cpuMs = (processCpuMicros(pid) - cpu) / 1000;
        const text = await scrape();
        const gauge = (name: string) => (samples(text, name).get('') ?? Number.NaN) * 1000;
        const authFailures: Record<string, number> = {};
        for (const [labels, n] of samples(text, 'fogline_auth_failures_total')) {
          const reason = /reason="([^"]*)"/.exec(labels)?.[1] ?? labels;
          const delta = n - (before.get(labels) ?? 0);
          if (delta > 0) authFailures[reason] = delta;
        }
        return {
          loopDelayP50Ms: gauge('fogline_nodejs_eventloop_lag_p50_seconds'),
          loopDelayP99Ms: gauge('fogline_nodejs_eventloop_lag_p99_seconds'),
          cpuMs,
          authFailures,
        };
      };
    };
    return { admin, url: http.url, mqttUrl: mqtt.url, pid, phase, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
