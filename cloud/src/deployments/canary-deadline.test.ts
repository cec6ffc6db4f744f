/** The canary's deadline: what is overdue when (canary-deadline.ts). */
import { describe, expect, it } from 'vitest';
import type { DeploymentEdgeRecord, DeploymentRecord } from '../store/index.ts';
import { overdueCanaries } from './canary-deadline.ts';

const start = Date.parse('2026-01-01T00:00:00Z');
const d = {
  id: 'd-1',
  canaryHealthyMs: 60_000,
  canaryTimeoutMs: 600_000,
  createdAt: new Date(start),
} as DeploymentRecord;
const edge = (edgeId: string, state: DeploymentEdgeRecord['state']) =>
  ({ edgeId, state, stage: 'canary' }) as DeploymentEdgeRecord;

describe('overdueCanaries', () => {
  it('names each canary edge not active by the timeout, offline or slow, and none before it', () => {
    const canaries = [edge('a', 'active'), edge('b', 'pending'), edge('c', 'warming')];
    const offline = (id: string) => id === 'b';
    expect(overdueCanaries(d, canaries, start + 599_999, offline)).toEqual([]);
    expect(overdueCanaries(d, canaries, start + 600_000, offline)).toEqual([
      { edgeId: 'b', why: 'no active report within 600 s (no report, offline)' },
      { edgeId: 'c', why: 'no active report within 600 s (last reported warming)' },
    ]);
  });

  it('holds a canary that went offline after its active report for the healthy time past the timeout', () => {
    const canaries = [edge('a', 'active')];
    const offline = () => true;
    expect(overdueCanaries(d, canaries, start + 659_999, offline)).toEqual([]);
    expect(overdueCanaries(d, canaries, start + 660_000, offline)).toEqual([
      { edgeId: 'a', why: 'offline after its active report, not back within 660 s' },
    ]);
    expect(overdueCanaries(d, canaries, start + 660_000, () => false)).toEqual([]);
  });
});
