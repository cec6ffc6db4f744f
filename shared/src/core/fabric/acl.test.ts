import { describe, expect, it } from 'vitest';
import { type AclDecision, canPublish, canSubscribe, type Identity } from './acl.ts';
import { topics } from './topics.ts';

const device: Identity = { kind: 'device', id: 'dev-1', edgeId: 'edge-a' };
const edge: Identity = { kind: 'edge', id: 'edge-a' };
const edgeAgent: Identity = { kind: 'service', id: 'edge-a-agent', edgeId: 'edge-a' };
const cloud: Identity = { kind: 'service', id: 'cloud' };

const allowed = (d: AclDecision) => d.allowed;
const reason = (d: AclDecision) => (d.allowed ? 'allowed' : d.reason);

describe('device', () => {
  it('publishes only to its own edge infer topic', () => {
    expect(allowed(canPublish(device, topics.infer('edge-a')))).toBe(true);
    expect(reason(canPublish(device, topics.infer('edge-b')))).toBe('topic');
    expect(reason(canPublish(device, topics.reply('dev-1')))).toBe('topic');
    expect(reason(canPublish(device, topics.reply('dev-2')))).toBe('topic');
    expect(reason(canPublish(device, topics.status('edge-a')))).toBe('topic');
    expect(reason(canPublish(device, 'anything'))).toBe('topic');
    expect(reason(canPublish(device, '$SYS/broker/clients'))).toBe('topic');
  });

  it('subscribes only to its own reply topic, never with wildcards', () => {
    expect(allowed(canSubscribe(device, topics.reply('dev-1')))).toBe(true);
    expect(reason(canSubscribe(device, topics.reply('dev-2')))).toBe('topic');
    expect(reason(canSubscribe(device, topics.infer('edge-a')))).toBe('topic');
    expect(reason(canSubscribe(device, '#'))).toBe('wildcard');
    expect(reason(canSubscribe(device, 'fogline/v1/device/+/reply'))).toBe('wildcard');
    expect(reason(canSubscribe(device, 'fogline/v1/device/dev-1/#'))).toBe('wildcard');
    expect(reason(canSubscribe(device, `${topics.reply('dev-1')}/extra`))).toBe('topic');
  });
});

describe('edge on the cloud broker', () => {
  it('publishes status, telemetry and reported in its own subtree only', () => {
    for (const t of [topics.status, topics.telemetry, topics.reported]) {
      expect(allowed(canPublish(edge, t('edge-a')))).toBe(true);
      expect(reason(canPublish(edge, t('edge-b')))).toBe('topic');
    }
    expect(reason(canPublish(edge, topics.desired('edge-a')))).toBe('topic');
    expect(reason(canPublish(edge, topics.infer('edge-a')))).toBe('topic');
    expect(reason(canPublish(edge, topics.reply('dev-1')))).toBe('topic');
  });

  it('subscribes to its own desired state only', () => {
    expect(allowed(canSubscribe(edge, topics.desired('edge-a')))).toBe(true);
    expect(reason(canSubscribe(edge, topics.desired('edge-b')))).toBe('topic');
    expect(reason(canSubscribe(edge, topics.status('edge-a')))).toBe('topic');
    expect(reason(canSubscribe(edge, 'fogline/v1/edge/edge-a/#'))).toBe('wildcard');
    expect(reason(canSubscribe(edge, 'fogline/v1/edge/+/desired'))).toBe('wildcard');
  });
});

describe('edge agent on its local broker (service with edgeId)', () => {
  it('subscribes to its own infer topic and publishes replies to devices', () => {
    expect(allowed(canSubscribe(edgeAgent, topics.infer('edge-a')))).toBe(true);
    expect(reason(canSubscribe(edgeAgent, topics.infer('edge-b')))).toBe('topic');
    expect(reason(canSubscribe(edgeAgent, 'fogline/v1/edge/+/infer'))).toBe('wildcard');
    expect(reason(canSubscribe(edgeAgent, '#'))).toBe('wildcard');
    expect(allowed(canPublish(edgeAgent, topics.reply('dev-1')))).toBe(true);
    expect(reason(canPublish(edgeAgent, topics.infer('edge-a')))).toBe('topic');
    expect(reason(canPublish(edgeAgent, topics.desired('edge-a')))).toBe('topic');
  });
});

describe('cloud internal service client', () => {
  it('subscribes to every edge with + as a whole level, never #', () => {
    for (const leaf of ['status', 'telemetry', 'reported', 'infer']) {
      expect(allowed(canSubscribe(cloud, `fogline/v1/edge/+/${leaf}`))).toBe(true);
      expect(allowed(canSubscribe(cloud, `fogline/v1/edge/edge-a/${leaf}`))).toBe(true);
    }
    expect(reason(canSubscribe(cloud, 'fogline/v1/edge/+/desired'))).toBe('topic');
    expect(reason(canSubscribe(cloud, 'fogline/v1/edge/e+/status'))).toBe('wildcard');
    expect(reason(canSubscribe(cloud, 'fogline/v1/edge/edge-a/+'))).toBe('wildcard');
    expect(reason(canSubscribe(cloud, 'fogline/v1/+/edge-a/status'))).toBe('wildcard');
    expect(reason(canSubscribe(cloud, 'fogline/v1/edge/#'))).toBe('wildcard');
    expect(reason(canSubscribe(cloud, '#'))).toBe('wildcard');
    expect(reason(canSubscribe(cloud, '+/+'))).toBe('wildcard');
  });

  it('publishes desired state to any edge and replies to any device', () => {
    expect(allowed(canPublish(cloud, topics.desired('edge-b')))).toBe(true);
    expect(allowed(canPublish(cloud, topics.reply('dev-9')))).toBe(true);
    expect(reason(canPublish(cloud, topics.status('edge-b')))).toBe('topic');
    expect(reason(canPublish(cloud, 'fogline/v1/edge/+/desired'))).toBe('wildcard');
  });
});

describe('malformed identities and topics', () => {
  it('gives nothing to an identity with an invalid id', () => {
    const bad: Identity = { kind: 'device', id: 'dev/1', edgeId: 'edge-a' };
    expect(reason(canPublish(bad, topics.infer('edge-a')))).toBe('identity');
    expect(reason(canSubscribe(bad, topics.reply('dev/1')))).toBe('identity');
    const badEdge: Identity = { kind: 'device', id: 'dev-1', edgeId: '+' };
    expect(reason(canPublish(badEdge, 'fogline/v1/edge/+/infer'))).toBe('identity');
  });

  it('refuses topics with extra, empty or missing levels', () => {
    expect(reason(canPublish(device, 'fogline/v1/edge/edge-a/infer/'))).toBe('topic');
    expect(reason(canPublish(device, '/fogline/v1/edge/edge-a/infer'))).toBe('topic');
    expect(reason(canPublish(device, 'fogline/v1/edge/edge-a'))).toBe('topic');
    expect(reason(canPublish(device, 'fogline/v2/edge/edge-a/infer'))).toBe('topic');
    expect(reason(canPublish(device, ''))).toBe('topic');
  });
});

describe('policy channel edge → devices (F7)', () => {
  const otherEdgeDevice: Identity = { kind: 'device', id: 'dev-9', edgeId: 'edge-b' };

  it('lets a device read its own edge policy, never another edge one, never publish it', () => {
    expect(allowed(canSubscribe(device, topics.policy('edge-a')))).toBe(true);
    expect(reason(canSubscribe(otherEdgeDevice, topics.policy('edge-a')))).toBe('topic');
    expect(reason(canSubscribe(device, 'fogline/v1/edge/+/policy'))).toBe('wildcard');
    expect(reason(canPublish(device, topics.policy('edge-a')))).toBe('topic');
    expect(reason(canPublish(otherEdgeDevice, topics.policy('edge-a')))).toBe('topic');
  });

  it('lets only the edge itself (and the cloud playing an edge) publish it', () => {
    expect(allowed(canPublish(edgeAgent, topics.policy('edge-a')))).toBe(true);
    expect(reason(canPublish(edgeAgent, topics.policy('edge-b')))).toBe('topic');
    expect(allowed(canPublish(cloud, topics.policy('cloud')))).toBe(true);
    // The edge's identity on the cloud broker has no business with its devices' policy.
    expect(reason(canPublish(edge, topics.policy('edge-a')))).toBe('topic');
    expect(reason(canSubscribe(edge, topics.policy('edge-a')))).toBe('topic');
  });
});

describe('device model manifest edge → devices (F8)', () => {
  const otherEdgeDevice: Identity = { kind: 'device', id: 'dev-9', edgeId: 'edge-b' };

  it('lets a device read its own edge manifest only, and only its edge publish it', () => {
    expect(allowed(canSubscribe(device, topics.deviceModel('edge-a')))).toBe(true);
    expect(reason(canSubscribe(otherEdgeDevice, topics.deviceModel('edge-a')))).toBe('topic');
    expect(reason(canPublish(device, topics.deviceModel('edge-a')))).toBe('topic');
    expect(allowed(canPublish(edgeAgent, topics.deviceModel('edge-a')))).toBe(true);
    expect(reason(canPublish(edgeAgent, topics.deviceModel('edge-b')))).toBe('topic');
    expect(reason(canPublish(edge, topics.deviceModel('edge-a')))).toBe('topic');
  });
});

describe('report channel device → edge (F7)', () => {
  it('lets a device publish its own reports only, and read none', () => {
    expect(allowed(canPublish(device, topics.report('dev-1')))).toBe(true);
    expect(reason(canPublish(device, topics.report('dev-2')))).toBe('topic');
    expect(reason(canSubscribe(device, topics.report('dev-1')))).toBe('topic');
    expect(reason(canSubscribe(device, 'fogline/v1/device/+/report'))).toBe('wildcard');
  });

  it('lets the edge agent and the cloud read every device report with + as the device level', () => {
    for (const who of [edgeAgent, cloud]) {
      expect(allowed(canSubscribe(who, 'fogline/v1/device/+/report'))).toBe(true);
      expect(allowed(canSubscribe(who, topics.report('dev-1')))).toBe(true);
      expect(reason(canSubscribe(who, 'fogline/v1/device/+/reply'))).toBe('topic');
      expect(reason(canSubscribe(who, 'fogline/v1/device/d+/report'))).toBe('wildcard');
      expect(reason(canPublish(who, topics.report('dev-1')))).toBe('topic');
    }
    expect(reason(canSubscribe(edge, topics.report('dev-1')))).toBe('topic');
  });
});
