/**
 * Static checks of deploy/k8s (no cluster here, and `kubectl --dry-run=client` needs one): every
 * manifest parses and validates against the Kubernetes object schemas (kubernetes-models), and what
 * a working install relies on holds: probes on the health paths through named container ports,
 * Services and the PodDisruptionBudget selecting the Deployment's pods, resources and a non-root
 * user set, the HPA targeting the Deployment, flags and `$(VAR)`s that exist, every referenced
 * ConfigMap key, Secret and claim defined.
 */
import { readdirSync } from 'node:fs';
import { DaemonSet, Deployment } from 'kubernetes-models/apps/v1';
import { HorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2';
import { PodDisruptionBudget } from 'kubernetes-models/policy/v1';
import {
  ConfigMap,
  type IContainer,
  type IPodSpec,
  Namespace,
  PersistentVolumeClaim,
  Secret,
  Service,
} from 'kubernetes-models/v1';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliFlags, DEPLOY_DIR, flagsIn, readYamlDocuments } from './support/deploy-files.ts';

const K8S_DIR = `${DEPLOY_DIR}k8s/`;

/** The kinds deploy/k8s uses, each with the model class that validates it. */
const MODELS: Record<string, new (data: never) => { validate(): void }> = {
  'v1/Namespace': Namespace,
  'v1/ConfigMap': ConfigMap,
  'v1/Secret': Secret,
  'v1/PersistentVolumeClaim': PersistentVolumeClaim,
  'v1/Service': Service,
  'apps/v1/Deployment': Deployment,
  'apps/v1/DaemonSet': DaemonSet,
  'autoscaling/v2/HorizontalPodAutoscaler': HorizontalPodAutoscaler,
  'policy/v1/PodDisruptionBudget': PodDisruptionBudget,
};

interface Manifest {
  apiVersion: string;
  kind: string;
  metadata: { name: string; labels?: Record<string, string> };
  [key: string]: unknown;
}

const manifestFiles = readdirSync(K8S_DIR).filter((f) => f.endsWith('.yaml') && f !== 'kustomization.yaml');
const manifests: Manifest[] = manifestFiles.flatMap((f) => readYamlDocuments(`${K8S_DIR}${f}`) as never[]);
const kustomization = readYamlDocuments(`${K8S_DIR}kustomization.yaml`)[0] as {
  resources: string[];
  images: { name: string }[];
};

function one<T>(kind: string, name: string): T {
  const found = manifests.find((m) => m.kind === kind && m.metadata.name === name);
  if (found === undefined) throw new Error(`no ${kind} ${name} in deploy/k8s`);
  return found as unknown as T;
}

const cloud = one<Deployment>('Deployment', 'fogline-cloud');
const edge = one<DaemonSet>('DaemonSet', 'fogline-edge');
const cloudPod = cloud.spec!.template.spec!;
const cloudContainer = cloudPod.containers[0]!;
const edgePod = edge.spec!.template.spec!;
const edgeContainer = edgePod.containers[0]!;
const configMap = one<ConfigMap>('ConfigMap', 'fogline-config');

/** `selector` picks exactly the pods whose labels include all of it. */
function selects(selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) {
  expect(selector, 'selector').toBeDefined();
  expect(Object.keys(selector!).length).toBeGreaterThan(0);
  for (const [k, v] of Object.entries(selector!)) expect(labels?.[k], `label ${k}`).toBe(v);
}

function portNames(container: IContainer): string[] {
  return (container.ports ?? []).map((p) => p.name!);
}

function expectResources(container: IContainer): void {
  for (const bound of ['requests', 'limits'] as const) {
    expect(container.resources?.[bound]?.cpu, `${container.name} ${bound}.cpu`).toBeDefined();
    expect(container.resources?.[bound]?.memory, `${container.name} ${bound}.memory`).toBeDefined();
  }
}

function expectNonRoot(pod: IPodSpec, container: IContainer): void {
  const user = container.securityContext?.runAsUser ?? pod.securityContext?.runAsUser;
  expect(container.securityContext?.runAsNonRoot ?? pod.securityContext?.runAsNonRoot).toBe(true);
  expect(user).toBeGreaterThan(0);
  expect(container.securityContext?.allowPrivilegeEscalation).toBe(false);
  expect(container.securityContext?.capabilities?.drop).toContain('ALL');
}

describe('deploy/k8s', () => {
  let cloudFlags: Set<string>;
  let edgeFlags: Set<string>;
  beforeAll(async () => {
    [cloudFlags, edgeFlags] = await Promise.all([cliFlags('cloud'), cliFlags('edge')]);
  });

  it('lists every manifest in kustomization.yaml, and each validates against its Kubernetes schema', () => {
    expect([...kustomization.resources].sort()).toEqual([...manifestFiles].sort());
    expect(manifests.length).toBeGreaterThanOrEqual(10);
    for (const m of manifests) {
      const Model = MODELS[`${m.apiVersion}/${m.kind}`];
      expect(Model, `${m.apiVersion} ${m.kind} has a schema`).toBeDefined();
      expect(() => new Model!(m as never).validate(), `${m.kind} ${m.metadata.name}`).not.toThrow();
    }
    // Only the two images the repository builds, each renamed through kustomization's `images`.
    const images = [...cloudPod.containers, ...edgePod.containers, ...(edgePod.initContainers ?? [])].map(
      (c) => c.image,
    );
    expect(new Set(images)).toEqual(new Set(['fogline-cloud', 'fogline-edge']));
    expect(kustomization.images.map((i) => i.name).sort()).toEqual(['fogline-cloud', 'fogline-edge']);
  });

  it('a schema violation is caught (the check is not vacuous)', () => {
    const broken = structuredClone(cloud) as unknown as Manifest;
    (broken as never as Deployment).spec!.template.spec!.containers[0]!.ports![0]!.containerPort =
      'http' as never;
    expect(() => new Deployment(broken as never).validate()).toThrow(/containerPort/);
  });

  it('cloud Deployment: probes on /v2/health/* through its named ports, resources, non-root', () => {
    selects(cloud.spec!.selector.matchLabels, cloud.spec!.template.metadata!.labels);
    expect(cloud.spec!.replicas).toBeGreaterThanOrEqual(2);
    expect(portNames(cloudContainer).sort()).toEqual(['http', 'mqtt']);
    const port = (name: string) => cloudContainer.ports!.find((p) => p.name === name)!.containerPort;
    expect([port('http'), port('mqtt')]).toEqual([8000, 1883]);
    expect(cloudContainer.readinessProbe?.httpGet).toMatchObject({ path: '/v2/health/ready', port: 'http' });
    expect(cloudContainer.livenessProbe?.httpGet).toMatchObject({ path: '/v2/health/live', port: 'http' });
    expect(cloudContainer.startupProbe?.httpGet).toMatchObject({ path: '/v2/health/live', port: 'http' });
    expectResources(cloudContainer);
    expectNonRoot(cloudPod, cloudContainer);
  });

  it('cloud Deployment: flags `fogline cloud` knows, $(VAR)s and Secret keys that are defined', () => {
    const args = cloudContainer.args ?? [];
    for (const flag of flagsIn(args.join(' '))) expect(cloudFlags.has(flag), flag).toBe(true);
    const fromConfig = Object.keys(configMap.data ?? {});
    for (const m of args.join(' ').matchAll(/\$\(([A-Z_]+)\)/g)) expect(fromConfig).toContain(m[1]);
    const refs = cloudContainer.envFrom ?? [];
    expect(refs.map((r) => r.configMapRef?.name).filter(Boolean)).toEqual(['fogline-config']);
    const secretName = refs.find((r) => r.secretRef)!.secretRef!.name!;
    const secret = one<Secret>('Secret', secretName);
    expect(Object.keys(secret.stringData ?? {}).sort()).toEqual(['DATABASE_URL', 'FOGLINE_REDIS_URL']);
    // The data dir sits on the shared claim, and the claim can be shared.
    const dataDir = args[args.indexOf('--data-dir') + 1]!;
    const mount = cloudContainer.volumeMounts!.find((v) => dataDir.startsWith(`${v.mountPath}/`))!;
    const claim = cloudPod.volumes!.find((v) => v.name === mount.name)!.persistentVolumeClaim!.claimName;
    expect(one<PersistentVolumeClaim>('PersistentVolumeClaim', claim).spec!.accessModes).toEqual([
      'ReadWriteMany',
    ]);
  });

  it('Services select the cloud pods and target ports the container has', () => {
    const services = manifests.filter((m) => m.kind === 'Service') as unknown as Service[];
    expect(services.length).toBe(2);
    const targets = services.flatMap((s) => {
      selects(s.spec!.selector, cloud.spec!.template.metadata!.labels);
      return s.spec!.ports!.map((p) => p.targetPort);
    });
    expect(targets.sort()).toEqual(['http', 'mqtt']);
    for (const t of targets) expect(portNames(cloudContainer)).toContain(t);
  });

  it('the HPA scales the Deployment on CPU from 2 up; the PDB covers exactly its pods', () => {
    const hpa = one<HorizontalPodAutoscaler>('HorizontalPodAutoscaler', 'fogline-cloud');
    expect(hpa.spec!.scaleTargetRef).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      name: 'fogline-cloud',
    });
    expect(hpa.spec!.minReplicas).toBeGreaterThanOrEqual(2);
    expect(hpa.spec!.metrics!.map((m) => m.resource?.name)).toEqual(['cpu']);
    const pdb = one<PodDisruptionBudget>('PodDisruptionBudget', 'fogline-cloud');
    expect(pdb.spec!.selector!.matchLabels).toEqual(cloud.spec!.selector.matchLabels);
    selects(pdb.spec!.selector!.matchLabels, cloud.spec!.template.metadata!.labels);
  });

  it('edge DaemonSet: `fogline edge` with known flags, every variable defined, on the host network', () => {
    selects(edge.spec!.selector.matchLabels, edge.spec!.template.metadata!.labels);
    const script = edgeContainer.command!.join(' ');
    expect(script).toContain('exec node /opt/fogline/cli/bin/fogline.js edge');
    for (const flag of flagsIn(script)) expect(edgeFlags.has(flag), flag).toBe(true);
    const defined = new Set((edgeContainer.env ?? []).map((e) => e.name));
    for (const m of script.matchAll(/\$\{?([A-Z_]+)\}?/g)) {
      if (m[1] !== 'FOGLINE_EDGE_TOKEN') expect(defined.has(m[1]!), m[1]).toBe(true);
    }
    for (const e of edgeContainer.env ?? []) {
      const key = e.valueFrom?.configMapKeyRef;
      if (key) expect(configMap.data?.[key.key], key.key).toBeDefined();
    }
    const tokens = edgePod.volumes!.find((v) => v.secret)!.secret!.secretName!;
    expect(one<Secret>('Secret', tokens)).toBeDefined();
    expect(edgePod.hostNetwork).toBe(true);
    expect(edgePod.dnsPolicy).toBe('ClusterFirstWithHostNet');
    for (const probe of [edgeContainer.readinessProbe, edgeContainer.livenessProbe]) {
      expect(portNames(edgeContainer)).toContain(probe?.tcpSocket?.port);
    }
    expectResources(edgeContainer);
    expectNonRoot(edgePod, edgeContainer);
  });

  it('the ConfigMap points edges at the Services that exist, on their ports', () => {
    for (const key of ['FOGLINE_CLOUD_URL', 'FOGLINE_CLOUD_BROKER']) {
      const url = new URL(configMap.data![key]!);
      const [name, namespace] = url.hostname.split('.');
      expect(namespace).toBe(one<Namespace>('Namespace', 'fogline').metadata!.name);
      const service = one<Service>('Service', name!);
      expect(service.spec!.ports!.map((p) => p.port)).toContain(Number(url.port));
    }
  });
});
