/**
 * Static checks of deploy/edge (no Docker engine or systemd boot is available to run them here): the
 * image copies only paths that exist and starts `fogline edge` with flags it knows; the systemd unit
 * passes `systemd-analyze verify` and uses only known flags and the variables its env example sets.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { createProgram } from '../main.ts';

const root = fileURLToPath(new URL('../../../', import.meta.url));
const deployDir = `${root}deploy/edge/`;
const edgeFlags = new Set(
  createProgram()
    .commands.find((c) => c.name() === 'edge')!
    .options.map((o) => o.long),
);
const flagsIn = (text: string) => [...text.matchAll(/(?<![\w-])--[a-z][a-z-]*/g)].map((m) => m[0]);

function hasSystemdAnalyze(): boolean {
  try {
    execFileSync('systemd-analyze', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

describe('deploy/edge/Dockerfile', () => {
  const lines = readFileSync(`${deployDir}Dockerfile`, 'utf8')
    .split('\n')
    .filter((l) => !l.trimStart().startsWith('#'));

  it('copies only paths that exist in the repository (the build context)', () => {
    const copies = lines.filter((l) => l.startsWith('COPY ') && !l.includes('--from='));
    expect(copies.length).toBeGreaterThan(0);
    for (const line of copies) {
      const sources = line.split(/\s+/).slice(1, -1);
      for (const source of sources) expect(existsSync(`${root}${source}`), `${source} (${line})`).toBe(true);
    }
  });

  it('builds on the official multi-arch Node 20 image and starts `fogline edge` with known flags', () => {
    expect(lines.join('\n')).toMatch(/^ARG NODE_IMAGE=node:20-bookworm-slim$/m);
    const entrypoint = lines.find((l) => l.startsWith('ENTRYPOINT '))!;
    const argv = JSON.parse(entrypoint.slice('ENTRYPOINT '.length)) as string[];
    expect(argv.slice(0, 3)).toEqual(['node', '/opt/fogline/cli/bin/fogline.js', 'edge']);
    for (const flag of flagsIn(argv.join(' '))) expect(edgeFlags.has(flag), flag).toBe(true);
    // Nothing architecture-specific: one Dockerfile for amd64 and arm64.
    expect(lines.join('\n')).not.toMatch(/x86_64|amd64|aarch64|arm64v8/);
  });
});

describe('deploy/edge/fogline-edge.service', () => {
  const unit = readFileSync(`${deployDir}fogline-edge.service`, 'utf8');
  const execStart = unit.split('\n').find((l) => l.startsWith('ExecStart='))!;

  it('runs `fogline edge` with known flags and the variables the env example sets', () => {
    expect(execStart).toContain('/opt/fogline/cli/bin/fogline.js edge');
    for (const flag of flagsIn(execStart)) expect(edgeFlags.has(flag), flag).toBe(true);
    const example = readFileSync(`${deployDir}edge.env.example`, 'utf8');
    const used = [...execStart.matchAll(/\$\{?([A-Z_]+)\}?/g)].map((m) => m[1]);
    for (const name of [...used, 'FOGLINE_EDGE_TOKEN']) expect(example).toMatch(new RegExp(`^${name}=`, 'm'));
  });

  it.runIf(hasSystemdAnalyze())('passes systemd-analyze verify without a warning', () => {
    const result = spawnSync('systemd-analyze', ['verify', '--man=no', `${deployDir}fogline-edge.service`], {
      encoding: 'utf8',
    });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
  });
});
