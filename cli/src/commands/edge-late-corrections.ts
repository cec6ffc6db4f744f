/**
 * `fogline edge`'s late-correction flags (docs/edge-agent.md "Late corrections"): how many bytes the
 * store of degraded answers may take on disk (0: off) and how long an answer and its correction live.
 */
import { AGENT_DEFAULTS, AGENT_RULES } from '@fogline/edge-agent';
import type { Command } from 'commander';
import { numberOption } from '../flags.ts';

export interface LateCorrectionFlags {
  lateCorrectionsMaxBytes: number;
  lateCorrectionsTtlMs: number;
}

export function addLateCorrectionFlags(command: Command): Command {
  return command
    .addOption(
      numberOption(
        '--late-corrections-max-bytes <n>',
        'disk the store of answers given degraded (cloud unreachable) may take; 0: keep none, send no corrections',
        AGENT_RULES.lateCorrectionsMaxBytes,
        AGENT_DEFAULTS.lateCorrectionsMaxBytes,
      ),
    )
    .addOption(
      numberOption(
        '--late-corrections-ttl-ms <ms>',
        'how long a degraded answer waits for the cloud, and its correction for the device',
        AGENT_RULES.lateCorrectionsTtlMs,
        AGENT_DEFAULTS.lateCorrectionsTtlMs,
      ),
    );
}

export function lateCorrectionsOf(flags: LateCorrectionFlags) {
  return {
    lateCorrectionsMaxBytes: flags.lateCorrectionsMaxBytes,
    lateCorrectionsTtlMs: flags.lateCorrectionsTtlMs,
  };
}
