import type { Command } from 'commander';
import { registerBackup } from './backup.ts';
import { registerCalibrate } from './calibrate.ts';
import { registerCerts } from './certs.ts';
import { registerCloud } from './cloud.ts';
import { registerDeploy } from './deploy.ts';
import { registerDevices } from './devices.ts';
import { registerEdge } from './edge.ts';
import { registerEdges } from './edges.ts';
import { registerExamples } from './examples.ts';
import { registerInit } from './init.ts';
import { registerKeys } from './keys.ts';
import { registerModels } from './models.ts';
import { registerPolicy } from './policy.ts';
import { registerQuantize } from './quantize.ts';
import { registerStatus } from './status.ts';
import { registerUp } from './up.ts';

/** One line per command family; each file owns its flags and help text. */
export function registerCommands(program: Command): void {
  registerCloud(program);
  registerEdge(program);
  registerEdges(program);
  registerDevices(program);
  registerKeys(program);
  registerModels(program);
  registerDeploy(program);
  registerExamples(program);
  registerInit(program);
  registerQuantize(program);
  registerCalibrate(program);
  registerUp(program);
  registerStatus(program);
  registerPolicy(program);
  registerCerts(program);
  registerBackup(program);
}
