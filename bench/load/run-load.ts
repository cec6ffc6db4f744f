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

export function runLoad(plan: LoadPlan): Promise<LoadResult> {
  return runChild(new URL(import.meta.url), plan);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await childMain((plan: LoadPlan) => {
    const { protocol } = plan;
    const adapter =
      protocol === 'http' ? httpAdapter(plan) : protocol === 'mqtt' ? mqttAdapter(plan) : sdkAdapter(plan);
    return closedLoop(adapter, plan);
  });
}
