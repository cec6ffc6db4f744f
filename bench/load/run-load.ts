/**
 * Runs the load generator (bench/load/closed-loop.ts) in a child process: `runLoad(plan)` from a
 * bench; `node --import tsx bench/load/run-load.ts` with the plan on stdin is that child.
 */
import { fileURLToPath } from 'node:url';
import { childMain, runChild } from '../lib/child.ts';
import { closedLoop, type LoadResult, type LoadWindow } from './closed-loop.ts';
import { type HttpTarget, httpAdapter } from './http.ts';
import { type MqttTarget, mqttAdapter } from './mqtt.ts';
import { type SdkTarget, sdkAdapter } from './sdk.ts';

export type { LoadResult } from './closed-loop.ts';

export type HttpLoadPlan = LoadWindow & { readonly protocol: 'http' } & HttpTarget;
export type MqttLoadPlan = LoadWindow & { readonly protocol: 'mqtt' } & MqttTarget;
export type SdkLoadPlan = LoadWindow & { readonly protocol: 'sdk' } & SdkTarget;
export type LoadPlan = HttpLoadPlan | MqttLoadPlan | SdkLoadPlan;

/** The line the child prints once all its connections are up, before its first request. */
const CONNECTED = 'load: connected';

/**
 * `onConnected` runs when every connection is up: a server's CPU per request counted from there
 * leaves out the connects (for fogline, a token hash per device) that a long run would amortize.
 */
export function runLoad(plan: LoadPlan, onConnected?: () => void): Promise<LoadResult> {
  const onLine = onConnected && ((line: string) => line === CONNECTED && onConnected());
  return runChild(new URL(import.meta.url), plan, onLine);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await childMain((plan: LoadPlan) => {
    const { protocol } = plan;
    const adapter =
      protocol === 'http' ? httpAdapter(plan) : protocol === 'mqtt' ? mqttAdapter(plan) : sdkAdapter(plan);
    return closedLoop(adapter, plan, () => console.log(CONNECTED));
  });
}
