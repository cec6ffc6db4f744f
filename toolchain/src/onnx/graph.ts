/**
 * Small builders and queries over an ONNX GraphProto: attributes, nodes, value infos, the opset a
 * model imports, which node produces / consumes a value, and a stable topological order
 * (onnx IR.md: "nodes ... MUST be sorted topologically").
 */
import { FoglineError } from '@fogline/shared';
import {
  AttributeType,
  type DataTypeCode,
  type OnnxAttribute,
  type OnnxGraph,
  type OnnxModel,
  type OnnxNode,
  type OnnxValueInfo,
} from './ir.ts';

export function attrInt(name: string, i: number): OnnxAttribute {
  return { name, type: AttributeType.INT, i };
}

export function attrFloat(name: string, f: number): OnnxAttribute {
  return { name, type: AttributeType.FLOAT, f };
}

export function attrInts(name: string, ints: number[]): OnnxAttribute {
  return { name, type: AttributeType.INTS, ints };
}

export function getAttr(node: OnnxNode, name: string): OnnxAttribute | undefined {
  return (node.attribute ?? []).find((a) => a.name === name);
}

export function intAttr(node: OnnxNode, name: string, fallback: number): number {
  return getAttr(node, name)?.i ?? fallback;
}

export function floatAttr(node: OnnxNode, name: string, fallback: number): number {
  return getAttr(node, name)?.f ?? fallback;
}

export function makeNode(
  opType: string,
  input: string[],
  output: string[],
  name: string,
  attribute: OnnxAttribute[] = [],
  domain?: string,
): OnnxNode {
  const node: OnnxNode = { opType, input, output, name, attribute };
  if (domain) node.domain = domain;
  return node;
}

/** A tensor value info; a string dim is symbolic (dim_param), a number is fixed (dim_value). */
export function tensorValueInfo(
  name: string,
  elemType: DataTypeCode,
  dims?: (number | string)[],
): OnnxValueInfo {
  const shape = dims && { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) };
  return { name, type: { tensorType: shape ? { elemType, shape } : { elemType } } };
}

/** The dims of a value info: a number for fixed dims, undefined for symbolic or unknown ones. */
export function valueInfoDims(info: OnnxValueInfo): (number | undefined)[] | undefined {
  const dims = info.type?.tensorType?.shape?.dim;
  return dims?.map((d) => (d.dimValue !== undefined && d.dimValue > 0 ? d.dimValue : undefined));
}

/** The version of `domain` ('' = ai.onnx) the model imports, or undefined. */
export function opsetVersion(model: OnnxModel, domain = ''): number | undefined {
  const normal = (d: string | undefined): string => (d === 'ai.onnx' ? '' : (d ?? ''));
  return (model.opsetImport ?? []).find((o) => normal(o.domain) === normal(domain))?.version;
}

export function graphOf(model: OnnxModel): OnnxGraph {
  if (!model.graph) throw new FoglineError('INVALID_ARG', 'model has no graph');
  return model.graph;
}

/** Which node writes each value, and which nodes read it (by position in graph.node). */
export interface ValueUses {
  readonly producer: ReadonlyMap<string, OnnxNode>;
  readonly consumers: ReadonlyMap<string, readonly OnnxNode[]>;
}

export function valueUses(graph: OnnxGraph): ValueUses {
  const producer = new Map<string, OnnxNode>();
  const consumers = new Map<string, OnnxNode[]>();
  for (const node of graph.node ?? []) {
    for (const out of node.output ?? []) if (out) producer.set(out, node);
    for (const input of node.input ?? []) {
      if (!input) continue;
      const list = consumers.get(input) ?? [];
      if (!list.includes(node)) list.push(node);
      consumers.set(input, list);
    }
  }
  return { producer, consumers };
}

/**
 * Orders nodes so every node comes after the producers of its inputs, keeping the original order
 * where it is already valid (Kahn's algorithm with a FIFO seeded in graph order).
 */
export function sortTopologically(graph: OnnxGraph): void {
  const nodes = graph.node ?? [];
  const { producer } = valueUses(graph);
  const pending = new Map<OnnxNode, number>();
  const dependents = new Map<OnnxNode, OnnxNode[]>();
  for (const node of nodes) {
    const parents = new Set<OnnxNode>();
    for (const input of node.input ?? []) {
      const p = input ? producer.get(input) : undefined;
      if (p && p !== node) parents.add(p);
    }
    pending.set(node, parents.size);
    for (const p of parents) dependents.set(p, [...(dependents.get(p) ?? []), node]);
  }
  const ready = nodes.filter((n) => pending.get(n) === 0);
  const sorted: OnnxNode[] = [];
  while (ready.length > 0) {
    const node = ready.shift()!;
    sorted.push(node);
    for (const d of dependents.get(node) ?? []) {
      const left = (pending.get(d) ?? 0) - 1;
      pending.set(d, left);
      if (left === 0) ready.push(d);
    }
  }
  if (sorted.length !== nodes.length) throw new FoglineError('INVALID_ARG', 'graph has a cycle');
  graph.node = sorted;
}

/** Hands out value / node names that do not collide with any name already in the graph. */
export class NameAllocator {
  private readonly taken = new Set<string>();

  constructor(graph: OnnxGraph) {
    for (const t of graph.initializer ?? []) if (t.name) this.taken.add(t.name);
    for (const v of [...(graph.input ?? []), ...(graph.output ?? []), ...(graph.valueInfo ?? [])]) {
      if (v.name) this.taken.add(v.name);
    }
    for (const n of graph.node ?? []) {
      for (const name of [...(n.input ?? []), ...(n.output ?? []), n.name ?? ''])
        if (name) this.taken.add(name);
    }
  }

  fresh(base: string): string {
    let name = base;
    for (let i = 1; this.taken.has(name); i++) name = `${base}_${i}`;
    this.taken.add(name);
    return name;
  }
}
