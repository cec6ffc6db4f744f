/**
 * TLS everywhere (docs/security.md "TLS"), through real clients and real processes with certificates
 * from `makeDevCertificates` (what `fogline certs dev` writes): `fogline cloud --tls-cert/--tls-key`
 * serves HTTPS, MQTTS and WSS (curl --cacert, mosquitto_sub --cafile, MQTT.js, the admin CLI with
 * --tls-ca); `fogline edge` reaches that cloud over HTTPS and MQTTS with --tls-ca and serves its own
 * broker as MQTTS to the device SDK; SIGHUP swaps the certificate without dropping open connections.
 */
import { execFile } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { promisify } from 'node:util';
import { makeModelRepo, tempDir } from '@fogline/cloud/testing';
import { connectDevice } from '@fogline/device-sdk';
import { loadDigits } from '@fogline/shared/digits';
import { type DevCertificates, makeDevCertificates } from '@fogline/shared/tls';
import mqtt, { type MqttClient } from 'mqtt';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type FoglineProcess, startFoglineProcess } from '../cli/src/testing/fogline-process.ts';
import { runFogline } from '../cli/src/testing/run-fogline.ts';

const exec = promisify(execFile);
const root = tempDir('tls');
const hosts = ['localhost', '127.0.0.1'];

interface CertFiles {
  ca: string;
  cert: string;
  key: string;
  pem: DevCertificates;
}

function writeCerts(name: string, pem = makeDevCertificates(hosts), at = name): CertFiles {
  const file = (f: string) => join(root, `${at}-${f}`);
  writeFileSync(file('ca.pem'), pem.caCert);
  writeFileSync(file('cert.pem'), pem.serverCert);
  writeFileSync(file('key.pem'), pem.serverKey, { mode: 0o600 });
  return { ca: file('ca.pem'), cert: file('cert.pem'), key: file('key.pem'), pem };
}

interface CloudReady {
  http: { port: number; url: string };
  mqtt: { port: number; url: string; wsUrl: string };
}

/** MQTT.js connected (or the connection error), as a given client id and password. */
function mqttConnect(url: string, id: string, password: string, ca?: string): Promise<MqttClient> {
  return new Promise((resolve, reject) => {
    const client = mqtt.connect(url, {
      clientId: id,
      username: id,
      password,
      protocolVersion: 4,
      reconnectPeriod: 0,
      connectTimeout: 10_000,
      ...(ca !== undefined && { ca }),
    });
    client.once('connect', () => resolve(client));
    client.once('error', (err) => {
      client.end(true);
      reject(err);
    });
  });
}

/** SHA-256 fingerprint of the certificate the server presents on a new handshake. */
function servedFingerprint(port: number, ca: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = tlsConnect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.end();
    });
    socket.once('error', reject);
  });
}

describe('TLS: cloud, edge and devices over real clients (processes)', { timeout: 180_000 }, () => {
  const models = makeModelRepo(['digits-tiny', 'digits-mid', 'digits-large']);
  const cloudCerts = writeCerts('cloud');
  const dataDir = join(root, 'cloud-data');
  let cloud: FoglineProcess<CloudReady>;
  const closers: (() => unknown)[] = [];

  beforeAll(async () => {
    // The certificate through the environment, as a container would pass it.
    cloud = await startFoglineProcess<CloudReady>(
      [
        'cloud',
        '--host',
        '127.0.0.1',
        '--http-port',
        '0',
        '--mqtt-port',
        '0',
        '--data-dir',
        dataDir,
        '--models',
        models,
        '--workers',
        '1',
        '--intra-op-threads',
        '1',
      ],
      { env: { FOGLINE_TLS_CERT: cloudCerts.cert, FOGLINE_TLS_KEY: cloudCerts.key } },
    );
  });
  afterAll(async () => {
    for (const close of closers.reverse()) await close();
    await cloud?.stop('SIGKILL');
    rmSync(root, { recursive: true, force: true });
    rmSync(models, { recursive: true, force: true });
  });

  it('serves HTTPS, MQTTS and WSS: curl --cacert, the admin CLI with --tls-ca, MQTT.js, mosquitto_sub --cafile', async () => {
    const { http, mqtt: broker } = cloud.ready;
    expect(http.url).toMatch(/^https:\/\/127\.0\.0\.1:/);
    expect(broker.url).toBe(`mqtts://127.0.0.1:${broker.port}`);
    expect(broker.wsUrl).toMatch(/^wss:\/\//);

    const curl = await exec('curl', [
      '-sS',
      '-o',
      '/dev/null',
      '-w',
      '%{http_code}',
      '--cacert',
      cloudCerts.ca,
      `${http.url}/v2/health/ready`,
    ]);
    expect(curl.stdout).toBe('200');
    const untrusted = await exec('curl', ['-sS', `${http.url}/v2/health/ready`]).catch((e) => e);
    expect(untrusted.code).toBe(60); // curl: peer certificate cannot be authenticated

    const added = await runFogline(
      'edges',
      'add',
      'tls-edge',
      '--json',
      '--data-dir',
      dataDir,
      '--tls-ca',
      cloudCerts.ca,
    );
    expect(added.code).toBe(0);
    const edge = JSON.parse(added.stdout) as { id: string; token: string };
    const refused = await runFogline('edges', 'list', '--data-dir', dataDir);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toMatch(/--tls-ca/);

    const viaTcp = await mqttConnect(broker.url, edge.id, edge.token, cloudCerts.pem.caCert);
    expect(viaTcp.connected).toBe(true);
    viaTcp.end(true);
    const viaWs = await mqttConnect(broker.wsUrl, edge.id, edge.token, cloudCerts.pem.caCert);
    expect(viaWs.connected).toBe(true);
    viaWs.end(true);
    await expect(mqttConnect(broker.url, edge.id, edge.token)).rejects.toThrow(/self[- ]signed|certificate/i);

    // The edge's retained desired state, read over MQTTS by Mosquitto's own client.
    const sub = await exec('mosquitto_sub', [
      ...['-h', '127.0.0.1', '-p', String(broker.port), '--cafile', cloudCerts.ca],
      ...['-i', edge.id, '-u', edge.id, '-P', edge.token, '-V', 'mqttv311'],
      ...['-t', `fogline/v1/edge/${edge.id}/desired`, '-C', '1', '-W', '20'],
    ]);
    expect(JSON.parse(sub.stdout)).toMatchObject({ version: expect.any(Number), devices: [] });
  });

  it('an edge reaches the cloud over HTTPS and MQTTS with --tls-ca and serves its devices over MQTTS', async () => {
    const admin = ['--data-dir', dataDir, '--tls-ca', cloudCerts.ca, '--json'];
    const edge = JSON.parse((await runFogline('edges', 'add', 'tls-edge-2', ...admin)).stdout) as {
      token: string;
    };
    const device = JSON.parse(
      (await runFogline('devices', 'add', 'tls-dev', '--edge', 'tls-edge-2', ...admin)).stdout,
    ) as {
      token: string;
    };
    const edgeCerts = writeCerts('edge');
    const agent = await startFoglineProcess<{
      mqtt: { port: number };
      tls: boolean;
      metrics: { host: string; port: number };
    }>([
      ...['edge', '--id', 'tls-edge-2', '--token', edge.token, '--host', '127.0.0.1', '--mqtt-port', '0'],
      ...['--cloud', cloud.ready.http.url, '--cloud-broker', cloud.ready.mqtt.url, '--tls-ca', cloudCerts.ca],
      ...['--tls-cert', edgeCerts.cert, '--tls-key', edgeCerts.key, '--data-dir', join(root, 'edge-data')],
      ...[
        '--model',
        'digits-mid',
        '--models',
        models,
        '--sizing',
        'default',
        '--workers',
        '1',
        '--cloud-model',
        'digits-large',
      ],
      // Every request escalates to the cloud (an entropy score never reaches 1): HTTPS is on the path.
      ...['--routing-score', 'entropy', '--threshold', '1', '--metrics-port', '0'],
    ]);
    closers.push(() => agent.stop());
    expect(agent.ready.tls).toBe(true);
    // The device list came over MQTTS from the cloud.
    await vi.waitFor(
      async () => {
        const [view] = JSON.parse((await runFogline('edges', 'list', ...admin)).stdout).filter(
          (e: { id: string }) => e.id === 'tls-edge-2',
        );
        expect(view).toMatchObject({ online: true, deviceListVersion: expect.any(Number) });
      },
      { timeout: 60_000, interval: 250 },
    );

    const dev = await connectDevice({
      broker: `mqtts://localhost:${agent.ready.mqtt.port}`,
      ca: edgeCerts.pem.caCert,
      deviceId: 'tls-dev',
      token: device.token,
      edgeId: 'tls-edge-2',
      runtime: 'node',
      model: join(models, 'digits-tiny', '1', 'model.onnx'),
      policy: { score: 'margin', threshold: 1 }, // always asks the edge
    });
    closers.push(() => dev.close());
    const digits = loadDigits('test');
    const answer = await vi.waitFor(
      async () => {
        const result = await dev.infer(digits.images.subarray(0, 784), { deadlineMs: 10_000 });
        expect(result.tier).toBe('cloud');
        return result;
      },
      { timeout: 60_000, interval: 250 },
    );
    expect(answer).toMatchObject({ tier: 'cloud', degraded: false, label: digits.labels[0] });
    // The edge's own /metrics (loopback) counts the cloud's answers.
    expect(agent.ready.metrics.host).toBe('127.0.0.1');
    const metrics = await (await fetch(`http://127.0.0.1:${agent.ready.metrics.port}/metrics`)).text();
    expect(metrics).toMatch(/fogline_edge_answers_total\{by="cloud"\} [1-9]/);
  });

  it('SIGHUP: a connection open before it stays up, new handshakes get the new certificate', async () => {
    const { http, mqtt: broker } = cloud.ready;
    const admin = ['--data-dir', dataDir, '--tls-ca', cloudCerts.ca, '--json'];
    const edge = JSON.parse((await runFogline('edges', 'add', 'tls-edge-3', ...admin)).stdout) as {
      id: string;
      token: string;
    };
    const before = await mqttConnect(broker.url, edge.id, edge.token, cloudCerts.pem.caCert);
    closers.push(() => before.end(true));
    const oldPrint = new X509Certificate(cloudCerts.pem.serverCert).fingerprint256;
    expect(await servedFingerprint(broker.port, cloudCerts.pem.caCert)).toBe(oldPrint);

    // Renewed on disk (another CA, so an old-CA client cannot mistake it), then SIGHUP.
    const renewed = writeCerts('renewed', makeDevCertificates(hosts), 'cloud');
    cloud.child.kill('SIGHUP');
    await vi.waitFor(() => expect(cloud.stderr()).toContain('SIGHUP: TLS certificate reloaded'), {
      timeout: 20_000,
      interval: 250,
    });

    const newPrint = new X509Certificate(renewed.pem.serverCert).fingerprint256;
    expect(await servedFingerprint(broker.port, renewed.pem.caCert)).toBe(newPrint);
    expect(await servedFingerprint(http.port, renewed.pem.caCert)).toBe(newPrint);
    await expect(servedFingerprint(broker.port, cloudCerts.pem.caCert)).rejects.toThrow();
    // The old connection still carries traffic: a QoS 1 publish is acknowledged over it.
    expect(before.connected).toBe(true);
    await before.publishAsync(`fogline/v1/edge/${edge.id}/telemetry`, '{}', { qos: 1 });
    const after = await mqttConnect(broker.url, edge.id, edge.token, renewed.pem.caCert).catch((e) => e);
    expect(after).not.toBeInstanceOf(Error);
    (after as MqttClient).end(true);

    // A broken pair is refused at SIGHUP and the served certificate stays.
    writeFileSync(renewed.key, cloudCerts.pem.serverKey);
    cloud.child.kill('SIGHUP');
    await vi.waitFor(
      () => expect(cloud.stderr()).toMatch(/certificate not reloaded: .*cannot be used together/),
      20_000,
    );
    expect(await servedFingerprint(broker.port, renewed.pem.caCert)).toBe(newPrint);
  });
});
