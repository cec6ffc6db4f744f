/**
 * Static checks of deploy/cloud/Dockerfile (no container engine here): one Dockerfile for amd64 and
 * arm64 on the official Node image, copying only paths that exist, running as the non-root `node`
 * user, a healthcheck on /v2/health/ready at the port the entry point binds, the ports it binds
 * exposed, the data dir a 0700 volume, and an entry point that is `fogline cloud` with flags the
 * real CLI lists.
 */
import { existsSync, readFileSync } from 'node:fs';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliFlags, DEPLOY_DIR, flagsIn, REPO_ROOT } from './support/deploy-files.ts';

const text = readFileSync(`${DEPLOY_DIR}cloud/Dockerfile`, 'utf8');
/** Instructions, one per entry, with continuation lines joined and comments dropped. */
const instructions = text
  .split('\n')
  .filter((l) => !l.trimStart().startsWith('#'))
  .join('\n')
  .replace(/\\\n/g, ' ')
  .split('\n')
  .filter((l) => l.trim() !== '');
const lastStage = instructions.slice(instructions.findLastIndex((l) => l.startsWith('FROM ')));
const entrypoint = JSON.parse(lastStage.find((l) => l.startsWith('ENTRYPOINT '))!.slice(11)) as string[];
const flagValue = (flag: string) => entrypoint[entrypoint.indexOf(flag) + 1];

describe('deploy/cloud/Dockerfile', () => {
  let known: Set<string>;
  // In a hook: a child process on a loaded box may take longer than a test's timeout.
  beforeAll(async () => {
    known = await cliFlags('cloud');
  });

  it('builds on the official multi-arch Node 20 image with nothing architecture-specific', () => {
    expect(instructions).toContain('ARG NODE_IMAGE=node:20-bookworm-slim');
    const bases = instructions.filter((l) => l.startsWith('FROM ')).map((l) => l.split(/\s+/)[1]);
    expect(new Set(bases)).toEqual(new Set(['$' + '{NODE_IMAGE}']));
    expect(instructions.join('\n')).not.toMatch(/x86_64|amd64|aarch64|arm64v8|--platform/);
    expect(existsSync(`${DEPLOY_DIR}cloud/Dockerfile.dockerignore`)).toBe(true);
  });

  it('copies only paths that exist in the repository (the build context)', () => {
    const copies = instructions.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) {
      for (const source of line.split(/\s+/).slice(1, -1)) {
        expect(existsSync(`${REPO_ROOT}${source}`), `${source} (${line})`).toBe(true);
      }
    }
  });

  it('starts `fogline cloud` as the non-root node user, with flags the CLI knows', () => {
    expect(entrypoint.slice(0, 3)).toEqual(['node', '/opt/fogline/cli/bin/fogline.js', 'cloud']);
    for (const flag of flagsIn(entrypoint.join(' '))) expect(known.has(flag), flag).toBe(true);
    const user = lastStage.filter((l) => l.startsWith('USER '));
    expect(user).toEqual(['USER node']);
    expect(lastStage.indexOf(user[0]!)).toBeLessThan(lastStage.findIndex((l) => l.startsWith('ENTRYPOINT ')));
    expect(flagValue('--host')).toBe('0.0.0.0');
  });

  it('exposes the ports it binds and checks readiness on the HTTP one', () => {
    const exposed = lastStage
      .find((l) => l.startsWith('EXPOSE '))!
      .split(/\s+/)
      .slice(1);
    expect(exposed.sort()).toEqual([flagValue('--mqtt-port'), flagValue('--http-port')].sort());
    const healthcheck = lastStage.find((l) => l.startsWith('HEALTHCHECK '))!;
    expect(healthcheck).toContain(`http://127.0.0.1:${flagValue('--http-port')}/v2/health/ready`);
  });

  it('keeps the data dir in a volume made 0700 for the node user', () => {
    const dataDir = flagValue('--data-dir')!;
    expect(lastStage).toContain(`VOLUME ["${dataDir}"]`);
    expect(lastStage).toContain(`RUN install -d -m 0700 -o node -g node ${dataDir}`);
  });
});
