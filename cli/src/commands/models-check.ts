/** `fogline models check`: every model against its ONNX file, then the cascade (docs/model-repository.md). */
import {
  type CascadeChoice,
  checkModelRepository,
  DEFAULT_MODELS_DIR,
  type RepositoryCheck,
} from '@fogline/shared/model-repository';
import { type Command, Option } from 'commander';

interface CheckFlags {
  models: string;
  deviceModel?: string;
  edgeModel?: string;
  cloudModel?: string;
  json?: boolean;
}

export function registerModelsCheck(models: Command): void {
  models
    .command('check')
    .description(
      'check every model (config.json against each version of its ONNX file) and the cascade; exit 1 on any problem',
    )
    .addOption(
      new Option('--models <dir>', 'model repository directory').default(DEFAULT_MODELS_DIR, '<repo>/models'),
    )
    .option('--device-model <name>', 'the cascade’s device model (default: the only device model)')
    .option(
      '--edge-model <name>',
      'the cascade’s edge model (default: the only one, else the one named *-int8)',
    )
    .option('--cloud-model <name>', 'the cascade’s cloud model (default: the only cloud model)')
    .option('--json', 'print the check as JSON')
    .action(async (flags: CheckFlags) => {
      const check = await checkModelRepository(flags.models, cascadeChoice(flags));
      if (flags.json) console.log(JSON.stringify(check, null, 2));
      else console.log(formatRepositoryCheck(check));
      if (!check.ok) process.exitCode = 1;
    });
}

export function cascadeChoice(flags: Omit<CheckFlags, 'models' | 'json'>): CascadeChoice {
  return {
    ...(flags.deviceModel ? { device: flags.deviceModel } : {}),
    ...(flags.edgeModel ? { edge: flags.edgeModel } : {}),
    ...(flags.cloudModel ? { cloud: flags.cloudModel } : {}),
  };
}

/** The check as a user reads it: one line per model, then the cascade verdict and its problems. */
export function formatRepositoryCheck(check: RepositoryCheck): string {
  const lines = [`model repository ${check.dir}`];
  if (check.models.length === 0) lines.push('  (no model directory with a config.json)');
  for (const m of check.models) {
    const what = m.tier
      ? ` (${m.tier}, version${m.versions.length > 1 ? 's' : ''} ${m.versions.join(', ')})`
      : m.servedBy
        ? ` (served by ${m.servedBy}: the cloud serves it, not checked here)`
        : '';
    if (m.problems.length === 0) lines.push(`  OK       ${m.name}${what}`);
    else {
      lines.push(`  PROBLEM  ${m.name}${what}`);
      for (const p of m.problems) lines.push(`    - ${p.message}`);
    }
  }
  const { device, edge, cloud } = check.cascade.models;
  const chain = device && edge && cloud ? ` ${device} → ${edge} → ${cloud}` : '';
  if (check.cascade.problems.length === 0) lines.push(`cascade${chain}: compatible`);
  else {
    lines.push(`cascade${chain}: NOT usable`);
    for (const p of check.cascade.problems) lines.push(`  - ${p}`);
  }
  lines.push(check.ok ? 'all checks passed' : 'problems found (exit code 1)');
  return lines.join('\n');
}
