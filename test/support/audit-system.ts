/**
 * Test support: one audited system on real sockets, as the audit, feedback and hard-example tests
 * need it: a real CloudServer (auth on, PGlite; digits-large computes the reference), an edge agent
 * (embedded broker, digits-mid-int8, reports far above the default 5/s because these tests send a
 * few hundred requests a second) that answers every escalation itself, and one SDK device
 * (digits-tiny) escalating what it is unsure of, with seeded audits at `auditRate`.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { eventually, type FabricCloud, startFabricCloud } from '@fogline/cloud/testing';
import { connectDevice, type Device } from '@fogline/device-sdk';
import { createEdgeAgent, type EdgeAgent } from '@fogline/edge-agent';

// biome-ignore lint/suspicious/noExplicitAny: records are read as the JSON the admin API returns
export type RecordView = Record<string, any>;

export interface AuditSystemOptions {
  readonly edgeId: string;
  /** Seed of the device's audit sampler (the same requests are audited run after run). */
  readonly auditSeed: number;
  /** The audit rate the edge publishes to its device with its policy; undefined: none with it. */
  readonly auditRate?: number;
  /** The edge's own audit rate (`fogline edge --audit-rate`). */
  readonly edgeAuditRate?: number;
  /** Connects the edge to the cloud broker too (the desired state pushed, not polled every 30 s). */
  readonly cloudBroker?: boolean;
  /** The device's connection states (`onStateChange`). */
  readonly onDeviceState?: (state: string) => void;
  readonly auditInputs?: 'keep' | 'drop';
  readonly warn?: (line: string) => void;
}

export interface AuditSystem {
  readonly cloud: FabricCloud;
  readonly agent: EdgeAgent;
  readonly device: Device;
  /** The edge's audit records, as the admin API lists them. */
  records(): Promise<RecordView[]>;
  stop(): Promise<void>;
}

export async function startAuditSystem(o: AuditSystemOptions): Promise<AuditSystem> {
  const dataDir = mkdtempSync(join(tmpdir(), 'fogline-audit-system-'));
  const cloud = await startFabricCloud({ models: ['digits-large'], cloudModel: 'digits-large' });
  let agent: EdgeAgent | undefined;
  let device: Device | undefined;
  const stop = async () => {
    await device?.close();
    await agent?.stop().catch(() => {});
    await cloud.stop();
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    const edge = await cloud.admin.createEdge(o.edgeId);
    const { token } = await cloud.admin.createDevice('dev-1', o.edgeId);
    agent = createEdgeAgent({
      edgeId: o.edgeId,
      token: edge.token,
      cloudUrl: cloud.url,
      cloudModel: 'digits-large',
      deviceModel: 'digits-tiny:1',
      localBroker: {
        kind: 'embedded',
        host: '127.0.0.1',
        mqttPort: 0,
        reportRate: { ratePerSec: 10_000, burst: 10_000 },
      },
      ...(o.auditInputs && { auditInputs: o.auditInputs }),
      ...(o.edgeAuditRate !== undefined && { auditRate: o.edgeAuditRate }),
      ...(o.cloudBroker && { cloudBrokerUrl: cloud.mqttUrl }),
      dataDir,
      workers: 1,
      intraOpThreads: 1,
      logger: { info: () => {}, warn: o.warn ?? (() => {}) },
    });
    const started = agent;
    const info = await started.start();
    await eventually(() => started.deviceListVersion !== undefined, 5000);
    const connected = await connectDevice({
      broker: `mqtt://127.0.0.1:${info.localBroker.mqttPort}`,
      deviceId: 'dev-1',
      token,
      edgeId: o.edgeId,
      runtime: 'node',
      auditSeed: o.auditSeed,
      auditBudget: { ratePerSec: 10_000, burst: 10_000 },
      ...(o.onDeviceState && { onStateChange: o.onDeviceState }),
    });
    device = connected;
    // Devices escalate their unsure inputs; the edge answers everything it gets (no cloud calls for answers).
    started.setRouting({ score: 'maxprob', threshold: 0 });
    const policy = await started.publishDevicePolicy(
      { score: 'maxprob', threshold: 0.9 },
      o.auditRate === undefined ? {} : { auditRate: o.auditRate },
    );
    await eventually(() => connected.policy.edgeVersion === policy.version, 2000);
    const records = async (): Promise<RecordView[]> => {
      const res = await fetch(`${cloud.url}/api/audits?edge=${o.edgeId}`, {
        headers: { authorization: `Bearer ${cloud.ready.adminToken.token}` },
      });
      return ((await res.json()) as { records: RecordView[] }).records;
    };
    return { cloud, agent: started, device: connected, records, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
