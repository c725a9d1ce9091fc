/**
 * The node graph of a topology: validation (unknown parents and stores, cycles) and the split into
 * sub-topologies (connected components over parent edges and shared stores; topics separate them).
 */
import type { StateStore, StoreBuilder } from '../state/index.ts'
import type { AnySerde, ProcessorSupplier, StreamPartitioner, TimestampExtractor, TopicNameExtractor } from '../processors/index.ts'
import { TopologyError } from './errors.ts'

interface BaseNode {
  readonly name: string
  readonly parents: string[]
  /** Stores connected to the node (processors only). */
  readonly stores: Set<string>
  /** Insertion order: the deterministic tie-breaker everywhere. */
  readonly index: number
}

export interface SourceGraphNode extends BaseNode {
  readonly kind: 'source'
  readonly topics: string[]
  readonly keySerde: AnySerde | undefined
  readonly valueSerde: AnySerde | undefined
  readonly timestampExtractor: TimestampExtractor | undefined
}

export interface ProcessorGraphNode extends BaseNode {
  readonly kind: 'processor'
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly supplier: ProcessorSupplier<any, any, any, any>
}

export interface SinkGraphNode extends BaseNode {
  readonly kind: 'sink'
  readonly topic: string | TopicNameExtractor
  readonly keySerde: AnySerde | undefined
  readonly valueSerde: AnySerde | undefined
  readonly partitioner: StreamPartitioner | undefined
}

export type GraphNode = SourceGraphNode | ProcessorGraphNode | SinkGraphNode

/** One sub-topology: its id and its nodes in topological order. */
export interface NodeGroup {
  readonly id: number
  readonly nodes: GraphNode[]
}

/** Throws a `TopologyError` naming the node for unknown parents, sink parents, unknown stores and cycles. */
export function validateStructure(
  nodes: ReadonlyMap<string, GraphNode>,
  stores: ReadonlyMap<string, StoreBuilder<StateStore>>,
  globalStores: ReadonlySet<string>
): void {
  if (nodes.size === 0 && globalStores.size === 0) throw new TopologyError('EMPTY', 'the topology has no nodes')
  for (const node of nodes.values()) {
    for (const parentName of node.parents) {
      const parent = nodes.get(parentName)
      if (!parent) {
        throw new TopologyError('UNKNOWN_PARENT', `${node.kind} ${node.name} names unknown parent or source ${parentName}`, { nodeName: node.name })
      }
      if (parent.kind === 'sink') {
        throw new TopologyError('SINK_AS_PARENT', `${node.kind} ${node.name} names sink ${parentName} as parent; sinks have no children`, {
          nodeName: node.name
        })
      }
    }
    for (const store of node.stores) {
      if (!stores.has(store) && !globalStores.has(store)) {
        throw new TopologyError('UNKNOWN_STORE', `processor ${node.name} uses unknown store ${store}`, { nodeName: node.name })
      }
    }
  }
  for (const [store] of stores) {
    if (![...nodes.values()].some((n) => n.stores.has(store))) {
      throw new TopologyError('UNUSED_STORE', `store ${store} is not connected to any processor`, { nodeName: store })
    }
  }
  findCycle(nodes)
}

function findCycle(nodes: ReadonlyMap<string, GraphNode>): void {
  const children = childMap(nodes)
  const state = new Map<string, 'visiting' | 'done'>()
  const path: string[] = []
  const visit = (name: string): void => {
    const seen = state.get(name)
    if (seen === 'done') return
    if (seen === 'visiting') {
      const cycle = [...path.slice(path.indexOf(name)), name]
      throw new TopologyError('CYCLE', `the topology has a cycle through ${name}: ${cycle.join(' -> ')}`, { nodeName: name })
    }
    state.set(name, 'visiting')
    path.push(name)
    for (const child of children.get(name) ?? []) visit(child)
    path.pop()
    state.set(name, 'done')
  }
  for (const name of nodes.keys()) visit(name)
}

/** Children of every node, in insertion order of the children. */
export function childMap(nodes: ReadonlyMap<string, GraphNode>): Map<string, string[]> {
  const children = new Map<string, string[]>()
  for (const node of nodes.values()) children.set(node.name, [])
  for (const node of nodes.values()) {
    for (const parent of node.parents) children.get(parent)?.push(node.name)
  }
  return children
}

/**
 * Splits the graph into sub-topologies: nodes joined by parent edges or by a shared store are in the
 * same one. Ids follow the first-added node of each group; nodes are in topological order.
 */
export function computeSubtopologies(nodes: ReadonlyMap<string, GraphNode>): NodeGroup[] {
  const root = new Map<string, string>()
  const find = (name: string): string => {
    let current = name
    while (root.get(current) !== current) current = root.get(current) ?? current
    root.set(name, current)
    return current
  }
  const union = (a: string, b: string): void => {
    const ra = find(a)
    const rb = find(b)
    if (ra === rb) return
    const ia = nodes.get(ra)?.index ?? 0
    const ib = nodes.get(rb)?.index ?? 0
    if (ia <= ib) root.set(rb, ra)
    else root.set(ra, rb)
  }
  for (const name of nodes.keys()) root.set(name, name)
  const storeOwner = new Map<string, string>()
  for (const node of nodes.values()) {
    for (const parent of node.parents) if (nodes.has(parent)) union(node.name, parent)
    for (const store of node.stores) {
      const owner = storeOwner.get(store)
      if (owner === undefined) storeOwner.set(store, node.name)
      else union(node.name, owner)
    }
  }
  const groups = new Map<string, GraphNode[]>()
  for (const node of nodes.values()) {
    const r = find(node.name)
    const list = groups.get(r)
    if (list) list.push(node)
    else groups.set(r, [node])
  }
  const ordered = [...groups.values()].sort((a, b) => minIndex(a) - minIndex(b))
  const children = childMap(nodes)
  return ordered.map((members, id) => ({ id, nodes: topologicalOrder(members, children) }))
}

function minIndex(nodes: GraphNode[]): number {
  return Math.min(...nodes.map((n) => n.index))
}

function topologicalOrder(members: GraphNode[], children: Map<string, string[]>): GraphNode[] {
  const byName = new Map(members.map((n) => [n.name, n]))
  const inDegree = new Map(members.map((n) => [n.name, n.parents.filter((p) => byName.has(p)).length]))
  const ready = members.filter((n) => inDegree.get(n.name) === 0)
  const out: GraphNode[] = []
  while (ready.length > 0) {
    ready.sort((a, b) => a.index - b.index)
    const node = ready.shift() as GraphNode
    out.push(node)
    for (const child of children.get(node.name) ?? []) {
      const remaining = (inDegree.get(child) ?? 0) - 1
      inDegree.set(child, remaining)
      const childNode = byName.get(child)
      if (remaining === 0 && childNode) ready.push(childNode)
    }
  }
  return out
}
