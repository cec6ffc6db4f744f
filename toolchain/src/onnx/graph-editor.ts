/**
 * Collects the additions of a graph rewrite (initializers, nodes) under collision-free names, then
 * drops initializers nothing reads any more and restores topological order.
 */

import { makeNode, NameAllocator, sortTopologically } from './graph.ts';
import type { OnnxAttribute, OnnxGraph, OnnxNode, OnnxTensor } from './ir.ts';

export class GraphEditor {
  private readonly names: NameAllocator;

  constructor(readonly graph: OnnxGraph) {
    this.names = new NameAllocator(graph);
  }

  fresh(base: string): string {
    return this.names.fresh(base);
  }

  /** Adds the tensor under a fresh name derived from its own; returns the name used. */
  addInitializer(tensor: OnnxTensor): string {
    const name = this.fresh(tensor.name ?? 'const');
    this.graph.initializer = [...(this.graph.initializer ?? []), { ...tensor, name }];
    return name;
  }

  /** Appends a node named after `base`; returns its output names. */
  addNode(
    opType: string,
    inputs: string[],
    outputBases: string[],
    base: string,
    attributes: OnnxAttribute[] = [],
    domain?: string,
  ): string[] {
    const outputs = outputBases.map((o) => this.fresh(o));
    const node = makeNode(opType, inputs, outputs, this.fresh(base), attributes, domain);
    this.graph.node = [...(this.graph.node ?? []), node];
    return outputs;
  }

  /** Replaces every read of `from` by `node` with `to`. */
  static rewire(node: OnnxNode, from: string, to: string): void {
    node.input = (node.input ?? []).map((i) => (i === from ? to : i));
  }

  /** Removes initializers (and their graph-input entries) no node or graph output reads. */
  dropUnusedInitializers(): string[] {
    const read = new Set<string>();
    for (const n of this.graph.node ?? []) for (const i of n.input ?? []) read.add(i);
    for (const o of this.graph.output ?? []) if (o.name) read.add(o.name);
    const dropped = (this.graph.initializer ?? [])
      .filter((t) => !read.has(t.name ?? ''))
      .map((t) => t.name ?? '');
    const gone = new Set(dropped);
    this.graph.initializer = (this.graph.initializer ?? []).filter((t) => !gone.has(t.name ?? ''));
    this.graph.input = (this.graph.input ?? []).filter((i) => !gone.has(i.name ?? ''));
    return dropped;
  }

  finish(): void {
    this.dropUnusedInitializers();
    sortTopologically(this.graph);
  }
}
