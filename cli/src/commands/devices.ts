/**
 * `fogline devices add|list|revoke`: device identities, through the running cloud's admin API. A
 * device belongs to one edge, which learns it (id and token hash) from the cloud within seconds.
 * The token printed by `add` is shown once (the device's MQTT password on its edge's broker).
 */
import type { DeviceView } from '@fogline/cloud/admin-client';
import type { Command } from 'commander';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('manage devices (identities and their tokens)');

  withAdminTarget(
    devices
      .command('add <id>')
      .description('enrol a device under an edge (its token is shown once)')
      .requiredOption('--edge <edgeId>', 'the edge the device connects to'),
  ).action(async (id: string, flags: AdminTargetFlags & { edge: string }) => {
    const created = await (await adminClient(flags)).createDevice(id, flags.edge);
    if (flags.json) return void console.log(JSON.stringify({ id: created.id, token: created.token }));
    console.log(`created device '${created.id}' on edge '${created.edge}'`);
    console.log(`token (shown once): ${created.token}`);
  });

  withAdminTarget(
    devices
      .command('list')
      .description('list devices')
      .option('--edge <edgeId>', 'only the devices of this edge'),
  ).action(async (flags: AdminTargetFlags & { edge?: string }) => {
    const list = await (await adminClient(flags)).listDevices(flags.edge);
    if (flags.json) return void console.log(JSON.stringify(list));
    console.log(formatTable(['id', 'edge', 'created', 'revoked'], list.map(row)));
  });

  withAdminTarget(
    devices.command('revoke <id>').description('revoke a device (its edge disconnects it within seconds)'),
  ).action(async (id: string, flags: AdminTargetFlags) => {
    const revoked = await (await adminClient(flags)).revokeDevice(id);
    if (flags.json) return void console.log(JSON.stringify(revoked));
    console.log(`revoked device '${revoked.id}'`);
  });
}

function row(d: DeviceView): string[] {
  return [d.id, d.edge, d.createdAt, d.revokedAt ?? '-'];
}
