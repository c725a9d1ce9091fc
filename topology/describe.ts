/**
 * `Topology.describe()`: the structure as data, printed like Kafka Streams' TopologyDescription.
 */
import { childMap, type GraphNode, type NodeGroup } from './graph.ts'

/** A node of a described topology. Sinks with a topic chooser show `topic: null`. */
export type NodeDescription =
  | {
      readonly type: 'source'
      readonly name: string
      readonly topics: readonly string[]
      readonly predecessors: readonly string[]
      readonly successors: readonly string[]
    }
  | {
      readonly type: 'processor'
      readonly name: string
      readonly stores: readonly string[]
      readonly predecessors: readonly string[]
      readonly successors: readonly string[]
    }
  | {
      readonly type: 'sink'
      readonly name: string
      readonly topic: string | null
      readonly predecessors: readonly string[]
      readonly successors: readonly string[]
    }

export interface SubtopologyDescription {
  readonly id: number
  readonly nodes: readonly NodeDescription[]
}

export interface GlobalStoreDescription {
  readonly id: number
  readonly source: { readonly name: string; readonly topic: string }
  readonly processor: { readonly name: string; readonly stores: readonly string[] }
}

/** The structure of a topology. `toString()` prints it in Kafka Streams' format. */
export interface TopologyDescription {
  readonly subtopologies: readonly SubtopologyDescription[]
  readonly globalStores: readonly GlobalStoreDescription[]
  toString(): string
}

export function describeTopology(
  groups: readonly NodeGroup[],
  globals: ReadonlyArray<{ sourceName: string; processorName: string; topic: string; storeName: string }>
): TopologyDescription {
  const all = new Map<string, GraphNode>()
  for (const group of groups) for (const node of group.nodes) all.set(node.name, node)
  const children = childMap(all)
  const subtopologies = groups.map((group) => ({
    id: group.id,
    nodes: group.nodes.map((node): NodeDescription => {
      const successors = children.get(node.name) ?? []
      switch (node.kind) {
        case 'source':
          return { type: 'source', name: node.name, topics: [...node.topics], predecessors: [], successors }
        case 'processor':
          return { type: 'processor', name: node.name, stores: [...node.stores], predecessors: [...node.parents], successors }
        case 'sink':
          return { type: 'sink', name: node.name, topic: typeof node.topic === 'string' ? node.topic : null, predecessors: [...node.parents], successors: [] }
      }
    })
  }))
  const globalStores = globals.map((g, i) => ({
    id: groups.length + i,
    source: { name: g.sourceName, topic: g.topic },
    processor: { name: g.processorName, stores: [g.storeName] }
  }))
  return {
    subtopologies,
    globalStores,
    toString: () => formatDescription(subtopologies, globalStores)
  }
}

function arrows(successors: readonly string[], predecessors: readonly string[] | undefined): string[] {
  const lines = [`      --> ${successors.length > 0 ? successors.join(', ') : 'none'}`]
  if (predecessors !== undefined) lines.push(`      <-- ${predecessors.length > 0 ? predecessors.join(', ') : 'none'}`)
  return lines
}

function formatDescription(subtopologies: readonly SubtopologyDescription[], globalStores: readonly GlobalStoreDescription[]): string {
  const lines = ['Topologies:']
  for (const sub of subtopologies) {
    lines.push(`   Sub-topology: ${sub.id}`)
    for (const node of sub.nodes) {
      switch (node.type) {
        case 'source':
          lines.push(`    Source: ${node.name} (topics: [${node.topics.join(', ')}])`, ...arrows(node.successors, undefined))
          break
        case 'processor':
          lines.push(`    Processor: ${node.name} (stores: [${node.stores.join(', ')}])`, ...arrows(node.successors, node.predecessors))
          break
        case 'sink':
          lines.push(`    Sink: ${node.name} (topic: ${node.topic ?? '<dynamic>'})`, `      <-- ${node.predecessors.join(', ')}`)
          break
      }
    }
  }
  for (const global of globalStores) {
    lines.push(`   Sub-topology: ${global.id} for global store (will not generate tasks)`)
    lines.push(`    Source: ${global.source.name} (topics: [${global.source.topic}])`, `      --> ${global.processor.name}`)
    lines.push(`    Processor: ${global.processor.name} (stores: [${global.processor.stores.join(', ')}])`, '      --> none', `      <-- ${global.source.name}`)
  }
  return `${lines.join('\n')}\n`
}
