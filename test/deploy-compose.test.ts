/**
 * Static checks of deploy/compose.yaml and the haproxy.cfg it mounts (no container engine here; no npm
 * package ships the compose-spec schema in a well-kept form, so the structure is asserted here, and
 * `docker-compose config` checks it against its bundled schema where docker-compose is installed): two
 * cloud replicas on one PostgreSQL and one Redis, sharing a data volume, behind a load balancer whose
 * HTTP and MQTT backends name both replicas (and pass `haproxy -c` where haproxy is installed); every
 * service has a healthcheck; the edge runs with flags `fogline edge` knows; no secret is written into
 * the file.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliFlags, DEPLOY_DIR, flagsIn, REPO_ROOT, readYamlDocuments } from './support/deploy-files.ts';

interface ComposeService {
  build?: { context: string; dockerfile: string };
  image?: string;
  command?: string[];
  environment?: Record<string, string>;
  volumes?: string[];
  ports?: string[];
  depends_on?: Record<string, { condition: string }> | string[];
  healthcheck?: { test: string[] };
  profiles?: string[];
}
interface Compose {
  services: Record<string, ComposeService>;
  volumes: Record<string, unknown>;
}

const compose = readYamlDocuments(`${DEPLOY_DIR}compose.yaml`)[0] as unknown as Compose;
const services = compose.services;
const replicas = ['cloud-1', 'cloud-2'];
const haproxy = readFileSync(`${DEPLOY_DIR}haproxy.cfg`, 'utf8');

function hasHaproxy(): boolean {
  return spawnSync('haproxy', ['-v'], { stdio: 'ignore' }).status === 0;
}

function hasDockerCompose(): boolean {
  return spawnSync('docker-compose', ['version'], { stdio: 'ignore' }).status === 0;
}

/** `docker-compose config -q` (v1, with its bundled compose-spec schema) on the file, with `env`. */
function composeConfig(env: Record<string, string>): { status: number | null; stderr: string } {
  const dir = mkdtempSync(join(tmpdir(), 'fogline-compose-'));
  try {
    // Top-level `name` came to the compose spec after docker-compose 1.29: the rest is checked as is.
    const file = join(dir, 'compose.yaml');
    writeFileSync(file, readFileSync(`${DEPLOY_DIR}compose.yaml`, 'utf8').replace(/^name: .*$/m, ''));
    const run = spawnSync('docker-compose', ['-f', file, '--project-directory', DEPLOY_DIR, 'config', '-q'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', ...env },
    });
    return { status: run.status, stderr: run.stderr };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** haproxy.cfg's sections: `backend cloud_http` → its lines, trimmed, comments dropped. */
function haproxySection(header: string): string[] {
  const lines = haproxy.split('\n');
  const start = lines.findIndex((l) => l.trim() === header);
  expect(start, header).toBeGreaterThanOrEqual(0);
  const body = lines.slice(start + 1);
  const end = body.findIndex((l) => /^\S/.test(l));
  return (end < 0 ? body : body.slice(0, end)).map((l) => l.trim()).filter((l) => l && !l.startsWith('#'));
}

describe('deploy/compose.yaml', () => {
  let edgeFlags: Set<string>;
  // In a hook: a child process on a loaded box may take longer than a test's timeout.
  beforeAll(async () => {
    edgeFlags = await cliFlags('edge');
  });

  it('has two cloud replicas, the load balancer, PostgreSQL, Redis and an edge, each with a healthcheck', () => {
    expect(Object.keys(services).sort()).toEqual(['cloud-1', 'cloud-2', 'edge', 'lb', 'postgres', 'redis']);
    for (const [name, service] of Object.entries(services)) {
      expect(service.healthcheck?.test.length, `${name} healthcheck`).toBeGreaterThan(0);
    }
    for (const name of replicas) {
      expect(services[name]!.build).toEqual({ context: '..', dockerfile: 'deploy/cloud/Dockerfile' });
      expect(services[name]!.healthcheck!.test.join(' ')).toContain('http://127.0.0.1:8000/v2/health/ready');
    }
    expect(services.edge!.build!.dockerfile).toBe('deploy/edge/Dockerfile');
    for (const s of Object.values(services)) {
      if (s.build) expect(existsSync(`${DEPLOY_DIR}${s.build.context}/${s.build.dockerfile}`)).toBe(true);
    }
  });

  it('wires the replicas to the PostgreSQL and the Redis services, started healthy first', () => {
    const postgres = services.postgres!.environment!;
    for (const name of replicas) {
      const env = services[name]!.environment!;
      const db = new URL(env.DATABASE_URL!.replace(/\$\{[^}]*\}/g, 'x'));
      expect([db.protocol, db.hostname, db.port]).toEqual(['postgres:', 'postgres', '5432']);
      expect([db.username, db.pathname]).toEqual([postgres.POSTGRES_USER, `/${postgres.POSTGRES_DB}`]);
      const redis = new URL(env.FOGLINE_REDIS_URL!.replace(/\$\{[^}]*\}/g, 'x'));
      expect([redis.protocol, redis.hostname, redis.port]).toEqual(['redis:', 'redis', '6379']);
      expect(services[name]!.depends_on).toEqual({
        postgres: { condition: 'service_healthy' },
        redis: { condition: 'service_healthy' },
      });
    }
  });

  it('gives the replicas one shared data volume at the image data dir', () => {
    const dockerfile = readFileSync(`${DEPLOY_DIR}cloud/Dockerfile`, 'utf8');
    const dataDir = /"--data-dir", "([^"]+)"/.exec(dockerfile)![1];
    const mounts = replicas.map((name) => services[name]!.volumes);
    expect(mounts[0]).toEqual([`cloud-data:${dataDir}`]);
    expect(mounts[1]).toEqual(mounts[0]);
    expect(Object.keys(compose.volumes)).toContain('cloud-data');
  });

  it("balances HTTP and MQTT over both replicas, checked on each replica's /v2/health/ready", () => {
    expect(services.lb!.volumes).toEqual(['./haproxy.cfg:/usr/local/etc/haproxy/haproxy.cfg:ro']);
    expect(services.lb!.ports!.sort()).toEqual(['1883:1883', '8000:8000']);
    for (const [frontend, backend, port] of [
      ['frontend http', 'backend cloud_http', 8000],
      ['frontend mqtt', 'backend cloud_mqtt', 1883],
    ] as const) {
      expect(haproxySection(frontend)).toContain(`bind :${port}`);
      const lines = haproxySection(backend);
      expect(haproxySection(frontend)).toContain(`default_backend ${backend.split(' ')[1]}`);
      const servers = lines.filter((l) => l.startsWith('server ')).map((l) => l.split(/\s+/).slice(1, 3));
      expect(servers).toEqual(replicas.map((r) => [r, `${r}:${port}`]));
      expect(lines).toContain('option httpchk GET /v2/health/ready');
    }
    // The MQTT backend's check goes to the HTTP port: the MQTT port has no health page.
    expect(haproxySection('backend cloud_mqtt').filter((l) => l.startsWith('server '))).toEqual(
      replicas.map((r) => `server ${r} ${r}:1883 port 8000`),
    );
  });

  it.runIf(hasHaproxy())(
    'haproxy.cfg passes `haproxy -c`, warning only of the replica names it cannot resolve here',
    () => {
      const check = spawnSync('haproxy', ['-c', '-f', `${DEPLOY_DIR}haproxy.cfg`], { encoding: 'utf8' });
      expect(check.status, check.stderr).toBe(0);
      const warnings = check.stderr
        .split('\n')
        .filter((l) => l.includes('[WARNING]') || l.includes('[ALERT]'));
      for (const line of warnings) expect(line).toMatch(/could not resolve address 'cloud-[12]'/);
    },
  );

  it.runIf(hasDockerCompose())(
    "passes docker-compose's schema, and refuses to start without a password",
    () => {
      const ok = composeConfig({ POSTGRES_PASSWORD: 'p', REDIS_PASSWORD: 'r' });
      expect(ok.stderr).toBe('');
      expect(ok.status).toBe(0);
      const missing = composeConfig({ POSTGRES_PASSWORD: 'p' });
      expect(missing.status).not.toBe(0);
      expect(missing.stderr).toContain('set REDIS_PASSWORD in deploy/.env');
    },
    // docker-compose (Python) takes ~1 s of CPU per run: tens of seconds on a loaded box.
    120_000,
  );

  it('starts the edge with flags `fogline edge` knows, against the load balancer', () => {
    const command = services.edge!.command!;
    for (const flag of flagsIn(command.join(' '))) expect(edgeFlags.has(flag), flag).toBe(true);
    expect(command[command.indexOf('--cloud') + 1]).toBe('http://lb:8000');
    expect(command[command.indexOf('--cloud-broker') + 1]).toBe('mqtt://lb:1883');
  });

  it('writes no secret into the file: passwords come from deploy/.env, which git ignores', () => {
    const text = readFileSync(`${DEPLOY_DIR}compose.yaml`, 'utf8');
    const variables = new Set([...text.matchAll(/\$\{([A-Z_]+)[:?}-]/g)].map((m) => m[1]!));
    const example = readFileSync(`${DEPLOY_DIR}compose.env.example`, 'utf8');
    for (const name of variables) expect(example).toMatch(new RegExp(`^${name}=$`, 'm'));
    expect(variables).toEqual(new Set(['POSTGRES_PASSWORD', 'REDIS_PASSWORD', 'FOGLINE_EDGE_TOKEN']));
    expect(services.postgres!.environment!.POSTGRES_PASSWORD).toMatch(/^\$\{POSTGRES_PASSWORD:\?/);
    const ignored = execFileSync('git', ['check-ignore', 'deploy/.env'], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
    });
    expect(ignored.trim()).toBe('deploy/.env');
  });
});
