/**
 * The edge of the audit-latency bench (bench/drift/audit-latency.ts), in its own process: the agent
 * `fogline edge` runs (createEdgeAgent, the CLI's defaults: digits-mid-int8, escalating to
 * digits-large), embedded broker on 127.0.0.1. It is a bench child rather than `fogline edge` because
 * the devices' audit rate has no run-time knob outside the agent's process (docs/field-accuracy.md
 * "Audits on vs off"): the bench sets it here, with `publishDevicePolicy`, as the drift alarm does.
 *
 * stdin, one JSON object a line: first the plan, then `{ "auditRate": p, "policy": {...} }` for each
 * change; stdout, one JSON object a line: `{ "ready": { "mqttPort" } }`, `{ "published": version }`
 * per change, and `{ "counts": { relay, reports } }` once stdin ends, before the agent stops.
 */
import { createInterface } from 'node:readline';
import { createEdgeAgent } from '@fogline/edge-agent';
import type { ResolvedPolicy } from '@fogline/shared';

export interface EdgePlan {
  readonly edgeId: string;
  readonly token: string;
  readonly cloudUrl: string;
  readonly cloudBrokerUrl: string;
  readonly dataDir: string;
  /** `name:version` of the devices' model. */
  readonly deviceModel: string;
}

export interface RateChange {
  readonly auditRate: number;
  /** The devices' routing, republished as it is (only the rate changes). */
  readonly policy: ResolvedPolicy;
}

const say = (o: object) => process.stdout.write(`${JSON.stringify(o)}\n`);
const lines = createInterface({ input: process.stdin })[Symbol.asyncIterator]();
const first = await lines.next();
if (first.done) process.exit(1);
const plan = JSON.parse(first.value) as EdgePlan;
const agent = createEdgeAgent({
  edgeId: plan.edgeId,
  token: plan.token,
  cloudUrl: plan.cloudUrl,
  cloudBrokerUrl: plan.cloudBrokerUrl,
  deviceModel: plan.deviceModel,
  // The per-device report bucket (default 5/s, burst 20) would drop half of 20 % of 50/s: opened, as
  // the device's audit budget is, so that the audits set are the audits that reach the cloud.
  localBroker: {
    kind: 'embedded',
    host: '127.0.0.1',
    mqttPort: 0,
    reportRate: { ratePerSec: 1000, burst: 1000 },
  },
  dataDir: plan.dataDir,
  logger: { info: () => {}, warn: (line) => process.stderr.write(`edge: ${line}\n`) },
});
try {
  const info = await agent.start();
  say({ ready: { mqttPort: info.localBroker.mqttPort } });
  for (let next = await lines.next(); !next.done; next = await lines.next()) {
    const change = JSON.parse(next.value) as RateChange;
    if (!(change.auditRate >= 0 && change.auditRate <= 1)) throw new Error('auditRate must be in [0, 1]');
    const m = await agent.publishDevicePolicy(change.policy, {
      model: plan.deviceModel,
      auditRate: change.auditRate,
    });
    say({ published: m.version });
  }
  say({ counts: { relay: agent.auditCounts() ?? null, reports: agent.reportCounts() } });
} finally {
  await agent.stop();
}
process.exit(0);
