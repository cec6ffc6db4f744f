/**
 * `fogline edges add|list|revoke`: edge identities, through the running cloud's admin API. The token
 * printed by `add` is shown once: it is the edge's MQTT password on the cloud broker and its HTTP
 * credential (`fogline edge --token`, or $FOGLINE_EDGE_TOKEN).
 */
import type { EdgeView } from '@fogline/cloud';
import { NAME_RULE } from '@fogline/cloud';
import type { Command } from 'commander';
import { formatTable } from '../format.ts';
import { type AdminTargetFlags, adminClient, withAdminTarget } from './admin-target.ts';

export function registerEdges(program: Command): void {
  const edges = program.command('edges').description('manage edge agents (identities and their tokens)');

  withAdminTarget(
    edges
      .command('add')
      .argument('<id>', `the new edge's id (${NAME_RULE})`)
      .description('enrol an edge (its token is shown once)'),
  ).action(async (id: string, flags: AdminTargetFlags) => {
    const created = await (await adminClient(flags)).createEdge(id);
    if (flags.json) return void console.log(JSON.stringify({ id: created.id, token: created.token }));
    console.log(`created edge '${created.id}'`);
    console.log(`token (shown once): ${created.token}`);
    console.log(`run it with: FOGLINE_EDGE_TOKEN=<token> fogline edge --id ${created.id} --cloud <url> ...`);
  });

  withAdminTarget(edges.command('list').description('list edges: online, last seen, last telemetry')).action(
    async (flags: AdminTargetFlags) => {
      const list = await (await adminClient(flags)).listEdges();
      if (flags.json) return void console.log(JSON.stringify(list));
      console.log(
        formatTable(['id', 'state', 'last seen', 'devices', 'breaker', 'received', 'created'], list.map(row)),
      );
    },
  );

  withAdminTarget(
    edges
      .command('revoke')
      .argument('<id>', 'the edge to revoke')
      .description('revoke an edge (disconnected; its token stops working)'),
  ).action(async (id: string, flags: AdminTargetFlags) => {
    const revoked = await (await adminClient(flags)).revokeEdge(id);
    if (flags.json) return void console.log(JSON.stringify(revoked));
    console.log(`revoked edge '${revoked.id}'`);
  });
}

function row(e: EdgeView): string[] {
  const state = e.revokedAt ? 'revoked' : e.online ? 'online' : 'offline';
  const t = e.telemetry;
  return [
    e.id,
    state,
    e.lastSeenAt ?? '-',
    String(e.reported?.devices ?? t?.devices ?? '-'),
    t?.breaker ?? '-',
    String(t?.counts?.received ?? '-'),
    e.createdAt,
  ];
}
