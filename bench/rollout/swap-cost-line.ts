/**
 * Reads the edge deployer's `deployment <id>: serving <new> (was <old>); <phase> <n> ms, …; event loop
 * delay p99 <x> ms, max <y> ms` log line (edge-agent/src/deployment/swap-cost.ts) back into numbers.
 */
export const SWAP_COLUMNS = ['download', 'verify', 'load', 'warm-up', 'loop p99', 'loop max'] as const;

export interface SwapCostLine {
  readonly edge: string;
  readonly id: string;
  /** ms per SWAP_COLUMNS entry found in the line. */
  readonly ms: Partial<Record<(typeof SWAP_COLUMNS)[number], number>>;
}

export function swapCosts(edges: readonly { edge: string; lines: readonly string[] }[]): SwapCostLine[] {
  return edges.flatMap(({ edge, lines }) =>
    lines.flatMap((line) => {
      const head = /deployment (\S+): serving \S+ \(was \S+\); (.*)$/.exec(line);
      if (!head) return [];
      const ms: SwapCostLine['ms'] = {};
      for (const [, name, n] of head[2]!.matchAll(/(download|verify|load|warm-up) (\d+) ms/g)) {
        ms[name as 'load'] = Number(n);
      }
      const loop = /event loop delay p99 ([\d.]+) ms, max ([\d.]+) ms/.exec(head[2]!);
      if (loop) Object.assign(ms, { 'loop p99': Number(loop[1]), 'loop max': Number(loop[2]) });
      return [{ edge, id: head[1]!, ms }];
    }),
  );
}
