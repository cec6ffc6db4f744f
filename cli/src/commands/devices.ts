/**
 * `fogline devices add|list|revoke`: device identities, through the running cloud's admin API. A
 * device belongs to one edge, which learns it (id and token hash) from the cloud within seconds, or
 * to none (`--cloud`): it then connects to the cloud broker, which plays its edge. The token printed
 * by `add` is shown once (the device's MQTT password on its edge's broker, or the cloud broker).
 */
import type { DeviceView } from '@fogline/cloud';
import { NAME_RULE } from '@fogline/cloud';
import { CLOUD_EDGE_ID, FoglineError } from '@fogline/shared';
import type { Command } from 'commander';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

export function registerDevices(program: Command): void {
  const devices = program.command('devices').description('manage devices (identities and their tokens)');

  withAdminTarget(
    devices
      .command('add')
      .argument('<id>', `the new device's id, its MQTT client id and username (${NAME_RULE})`)
      .description(
        'enrol a device under an edge, or with no edge (--cloud); its token is shown once. Give exactly one of --edge and --cloud',
      )
      .option(
        '--edge <edgeId[,standbyEdgeId]>',
        "the edge the device connects to; a second id: a standby edge whose list carries the device too (a site's second edge, docs/scale-out.md)",
      )
      .option('--cloud', `no edge: the device connects to the cloud broker with edge id '${CLOUD_EDGE_ID}'`),
  ).action(async (id: string, flags: AdminTargetFlags & { edge?: string; cloud?: boolean }) => {
    if ((flags.edge === undefined) === (flags.cloud !== true)) {
      throw new FoglineError(
        'INVALID_ARG',
        'devices add: give exactly one of --edge <edgeId> (the device connects to that edge) and --cloud (no edge: it connects to the cloud broker)',
      );
    }
    const [edge = null, standby = null, ...more] = flags.edge?.split(',').map((e) => e.trim()) ?? [];
    if (more.length > 0) {
      throw new FoglineError(
        'INVALID_ARG',
        'devices add: --edge takes one edge, or two (the edge and its standby)',
      );
    }
    const created = await (await adminClient(flags)).createDevice(id, edge, standby);
    if (flags.json) return void console.log(JSON.stringify({ id: created.id, token: created.token }));
    if (created.edge === null) {
      console.log(`created device '${created.id}' with no edge: it connects to the cloud broker`);
      console.log(`  (MQTT username '${created.id}', edge id '${CLOUD_EDGE_ID}' in the device SDK)`);
    } else {
      const standby = created.standbyEdge === null ? '' : ` (standby edge '${created.standbyEdge}')`;
      console.log(`created device '${created.id}' on edge '${created.edge}'${standby}`);
    }
    console.log(`token (shown once): ${created.token}`);
  });

  withAdminTarget(
    devices
      .command('list')
      .description('list devices')
      .option('--edge <edgeId>', `only the devices of this edge ('${CLOUD_EDGE_ID}': those with no edge)`),
  ).action(async (flags: AdminTargetFlags & { edge?: string }) => {
    const list = await (await adminClient(flags)).listDevices(flags.edge);
    if (flags.json) return void console.log(JSON.stringify(list));
    console.log(formatTable(['id', 'edge', 'standby', 'created', 'revoked'], list.map(row)));
  });

  withAdminTarget(
    devices
      .command('revoke')
      .argument('<id>', 'the device to revoke')
      .description(
        'revoke a device (its edge disconnects it within seconds; the cloud broker at once if it has no edge)',
      ),
  ).action(async (id: string, flags: AdminTargetFlags) => {
    const revoked = await (await adminClient(flags)).revokeDevice(id);
    if (flags.json) return void console.log(JSON.stringify(revoked));
    console.log(`revoked device '${revoked.id}'`);
  });
}

function row(d: DeviceView): string[] {
  return [d.id, d.edge ?? CLOUD_EDGE_ID, d.standbyEdge ?? '-', d.createdAt, d.revokedAt ?? '-'];
}
