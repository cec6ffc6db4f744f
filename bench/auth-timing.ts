/**
 * `npm run bench -- auth-timing [--rounds N]`
 * Whether response time tells an outsider which ids exist (issue 17 item 2a): the cloud store's
 * `edges.verify` and `devices.verify` with a wrong token, for an enrolled id and for an id that does
 * not exist, interleaved one by one on one PGlite store. Before the dummy hash an unknown id cost a
 * database lookup only (≈ 2 ms against ≈ 38 ms); the figure is the ratio unknown / known of the p50s.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore } from '@fogline/cloud';
import { numberFlag } from './lib/flags.ts';
import { machineLine, ms, reportHead, table, writeReport } from './lib/report.ts';
import { median } from './lib/stats.ts';

export default async function run(args: string[] = []): Promise<void> {
  const rounds = numberFlag(args, '--rounds', 40);
  const head = reportHead('auth-timing', args);
  const dir = mkdtempSync(join(tmpdir(), 'fogline-auth-timing-'));
  const store = await openStore({ dataDir: dir, env: {} });
  try {
    await store.edges.create('edge-known');
    await store.devices.create('dev-known', 'edge-known');
    const wrong = `fge_${'x'.repeat(43)}`;
    const cases = {
      edges: {
        known: () => store.edges.verify('edge-known', wrong),
        unknown: () => store.edges.verify('edge-nope', wrong),
      },
      devices: {
        known: () => store.devices.verify('dev-known', wrong),
        unknown: () => store.devices.verify('dev-nope', wrong),
      },
    };
    const rows: string[] = [];
    const points: Record<string, { knownP50Ms: number; unknownP50Ms: number; ratio: number }> = {};
    for (const [kind, c] of Object.entries(cases)) {
      const known: number[] = [];
      const unknown: number[] = [];
      await c.known(); // warm the statement and the dummy hash
      await c.unknown();
      for (let i = 0; i < rounds; i++) {
        for (const [fn, into] of [
          [c.known, known],
          [c.unknown, unknown],
        ] as const) {
          const t = performance.now();
          if ((await fn()) !== null) throw new Error('a wrong token was accepted');
          into.push(performance.now() - t);
        }
      }
      const point = {
        knownP50Ms: median(known),
        unknownP50Ms: median(unknown),
        ratio: median(unknown) / median(known),
      };
      points[kind] = point;
      rows.push(
        [kind, ms(point.knownP50Ms, 2), ms(point.unknownP50Ms, 2), point.ratio.toFixed(2)].join(' | '),
      );
    }
    const markdown = [
      '# Auth timing: unknown ids cost what known ones do',
      '',
      machineLine(head.at, head.machine),
      '',
      `\`${head.command}\`: a wrong token for an enrolled id and for an unknown id, ${rounds} of each`,
      'interleaved on one PGlite store; p50s and their ratio unknown / known (1 = indistinguishable).',
      '',
      table('verify | known id p50 ms | unknown id p50 ms | ratio', rows),
      '',
    ].join('\n');
    writeReport('auth-timing', { ...head, rounds, points }, markdown);
    console.log(markdown);
  } finally {
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
