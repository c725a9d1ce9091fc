/**
 * Lays out one sub-topology of `system.topology` as a layered graph: topics a source reads come
 * first, then the nodes by their longest distance from a source, then the topics sinks write.
 * Within a layer nodes are ordered by the mean position of their predecessors (the barycenter
 * heuristic), which keeps fan-outs and their branches in straight lines. Processor boxes grow by one
 * line per state store they use. The result is plain geometry; the page draws boxes as HTML and the
 * edges as SVG paths.
 */
import type { TopologyNode, TopologyView } from '../api/types.ts'

/** What a box stands for. */
export type BoxKind = 'topic' | 'source' | 'processor' | 'sink'

/** A positioned box (layout units = CSS pixels before any scaling). */
export interface LayoutBox {
  /** `topic:<name>` for topics, `node:<name>` for nodes. */
  readonly id: string
  readonly kind: BoxKind
  readonly label: string
  /** State stores of a processor (empty otherwise). */
  readonly stores: readonly string[]
  /** Topics of a source or sink node (for their tooltips). */
  readonly topics: readonly string[]
  readonly layer: number
  readonly x: number
  readonly y: number
  readonly width: number
  readonly height: number
}

/** A connection between two boxes: `path` is SVG path data. */
export interface LayoutEdge {
  readonly from: string
  readonly to: string
  readonly path: string
}

/** A laid-out sub-topology. */
export interface SubtopologyLayout {
  readonly id: number
  readonly width: number
  readonly height: number
  readonly boxes: readonly LayoutBox[]
  readonly edges: readonly LayoutEdge[]
}

/** Layout options; sizes in layout units. */
export interface LayoutOptions {
  /** `horizontal`: layers are columns, data flows left to right; `vertical`: rows, top to bottom. */
  readonly direction: 'horizontal' | 'vertical'
  readonly nodeWidth?: number
  /** Height of a box without stores. */
  readonly nodeHeight?: number
  /** Extra height per store line. */
  readonly storeLineHeight?: number
  /** Space between layers. */
  readonly layerGap?: number
  /** Space between boxes of one layer. */
  readonly siblingGap?: number
}

interface Draft {
  id: string
  kind: BoxKind
  label: string
  stores: string[]
  topics: string[]
  layer: number
  /** Position within the layer, refined by the barycenter pass. */
  order: number
  preds: string[]
}

const topicId = (name: string): string => `topic:${name}`
const nodeId = (name: string): string => `node:${name}`

/** Longest distance of each node from a node without predecessors (within the sub-topology). */
function nodeLayers(nodes: readonly TopologyNode[]): Map<string, number> {
  const names = new Set(nodes.map((n) => n.name))
  const layer = new Map<string, number>()
  for (const n of nodes) layer.set(n.name, 0)
  // Bellman-Ford style relaxation: at most |nodes| rounds; a cycle (not valid in a topology) just stops growing.
  for (let round = 0; round < nodes.length; round++) {
    let changed = false
    for (const n of nodes) {
      for (const p of n.predecessors) {
        if (!names.has(p)) continue
        const candidate = (layer.get(p) ?? 0) + 1
        if (candidate > (layer.get(n.name) ?? 0) && candidate <= nodes.length) {
          layer.set(n.name, candidate)
          changed = true
        }
      }
    }
    if (!changed) break
  }
  return layer
}

/** Lays out sub-topology `sub` (see the file comment). */
export function layoutSubtopology(sub: TopologyView['subtopologies'][number], options: LayoutOptions): SubtopologyLayout {
  const nodeWidth = options.nodeWidth ?? 184
  const nodeHeight = options.nodeHeight ?? 44
  const storeLine = options.storeLineHeight ?? 22
  const layerGap = options.layerGap ?? 44
  const siblingGap = options.siblingGap ?? 16
  const horizontal = options.direction === 'horizontal'

  const layers = nodeLayers(sub.nodes)
  const drafts = new Map<string, Draft>()
  // Nodes are shifted by one layer to leave layer 0 to the topics sources read.
  sub.nodes.forEach((n, index) => {
    const base = { id: nodeId(n.name), label: n.name, layer: (layers.get(n.name) ?? 0) + 1, order: index, preds: n.predecessors.map(nodeId) }
    switch (n.type) {
      case 'source':
        drafts.set(base.id, { ...base, kind: 'source', stores: [], topics: [...n.topics] })
        break
      case 'processor':
        drafts.set(base.id, { ...base, kind: 'processor', stores: [...n.stores], topics: [] })
        break
      case 'sink':
        drafts.set(base.id, { ...base, kind: 'sink', stores: [], topics: n.topic === null ? [] : [n.topic] })
        break
    }
  })
  const lastNodeLayer = Math.max(1, ...[...drafts.values()].map((d) => d.layer))
  const edges: Array<{ from: string; to: string }> = []
  for (const d of drafts.values()) for (const p of d.preds) if (drafts.has(p)) edges.push({ from: p, to: d.id })
  // Topics: one box per topic name on each side (a topic both read and written appears twice, as
  // "in" and "out", so the graph stays acyclic).
  const topicBoxes = new Map<string, Draft>()
  for (const d of [...drafts.values()]) {
    if (d.kind === 'source') {
      for (const t of d.topics) {
        const id = `${topicId(t)}:in`
        if (!topicBoxes.has(id)) topicBoxes.set(id, { id, kind: 'topic', label: t, stores: [], topics: [t], layer: 0, order: d.order, preds: [] })
        edges.push({ from: id, to: d.id })
      }
    } else if (d.kind === 'sink') {
      for (const t of d.topics) {
        const id = `${topicId(t)}:out`
        if (!topicBoxes.has(id))
          topicBoxes.set(id, { id, kind: 'topic', label: t, stores: [], topics: [t], layer: lastNodeLayer + 1, order: d.order, preds: [] })
        ;(topicBoxes.get(id) as Draft).preds.push(d.id)
        edges.push({ from: d.id, to: id })
      }
    }
  }
  const all = [...topicBoxes.values(), ...drafts.values()]
  const byLayer = new Map<number, Draft[]>()
  for (const d of all) {
    let list = byLayer.get(d.layer)
    if (list === undefined) byLayer.set(d.layer, (list = []))
    list.push(d)
  }
  const layerIds = [...byLayer.keys()].sort((a, b) => a - b)
  // Layer 0 (input topics) follows the order of the sources that read them; every later layer is
  // sorted by the barycenter of its predecessors' positions, ties by declaration order.
  const position = new Map<string, number>()
  for (const l of layerIds) {
    const list = byLayer.get(l) as Draft[]
    const key = (d: Draft): number => {
      const placed = d.preds.map((p) => position.get(p)).filter((v): v is number => v !== undefined)
      return placed.length === 0 ? Number.POSITIVE_INFINITY : placed.reduce((s, v) => s + v, 0) / placed.length
    }
    list.sort((a, b) => {
      const ka = key(a)
      const kb = key(b)
      return ka === kb ? a.order - b.order : ka === Number.POSITIVE_INFINITY ? 1 : kb === Number.POSITIVE_INFINITY ? -1 : ka - kb
    })
    list.forEach((d, i) => position.set(d.id, i))
  }

  const boxHeight = (d: Draft): number => nodeHeight + d.stores.length * storeLine
  // Across the flow every box gets a slot of the same size (the tallest box when layers are
  // columns, the node width when they are rows), centered in it: the i-th boxes of two layers with
  // as many boxes line up, so chains stay straight.
  const slot = horizontal ? Math.max(...all.map(boxHeight)) : nodeWidth
  const crossExtent = (count: number): number => count * slot + siblingGap * (count - 1)
  const maxCross = Math.max(...layerIds.map((l) => crossExtent((byLayer.get(l) as Draft[]).length)))
  const boxes: LayoutBox[] = []
  let main = 0
  for (const l of layerIds) {
    const list = byLayer.get(l) as Draft[]
    const start = (maxCross - crossExtent(list.length)) / 2
    let depth = 0
    list.forEach((d, i) => {
      const height = boxHeight(d)
      const cross = start + i * (slot + siblingGap)
      const x = horizontal ? main : cross
      const y = horizontal ? cross + (slot - height) / 2 : main
      boxes.push({ id: d.id, kind: d.kind, label: d.label, stores: d.stores, topics: d.topics, layer: l, x, y, width: nodeWidth, height })
      depth = Math.max(depth, horizontal ? nodeWidth : height)
    })
    main += depth + layerGap
  }
  const width = horizontal ? main - layerGap : maxCross
  const height = horizontal ? maxCross : main - layerGap
  const at = new Map(boxes.map((b) => [b.id, b]))
  const laidEdges = edges.flatMap((e): LayoutEdge[] => {
    const a = at.get(e.from)
    const b = at.get(e.to)
    if (a === undefined || b === undefined) return []
    return [{ from: e.from, to: e.to, path: horizontal ? curveH(a, b) : curveV(a, b) }]
  })
  return { id: sub.id, width: Math.max(0, width), height: Math.max(0, height), boxes, edges: laidEdges }
}

function round(n: number): number {
  return Math.round(n * 10) / 10
}

/** Right middle of `a` to left middle of `b`, bending halfway. */
function curveH(a: LayoutBox, b: LayoutBox): string {
  const x1 = a.x + a.width
  const y1 = a.y + a.height / 2
  const x2 = b.x
  const y2 = b.y + b.height / 2
  const mx = (x1 + x2) / 2
  return `M${round(x1)},${round(y1)} C${round(mx)},${round(y1)} ${round(mx)},${round(y2)} ${round(x2)},${round(y2)}`
}

/** Bottom middle of `a` to top middle of `b`, bending halfway. */
function curveV(a: LayoutBox, b: LayoutBox): string {
  const x1 = a.x + a.width / 2
  const y1 = a.y + a.height
  const x2 = b.x + b.width / 2
  const y2 = b.y
  const my = (y1 + y2) / 2
  return `M${round(x1)},${round(y1)} C${round(x1)},${round(my)} ${round(x2)},${round(my)} ${round(x2)},${round(y2)}`
}

/** Counts of what a topology holds, for its heading. */
export function topologyCounts(view: Pick<TopologyView, 'subtopologies' | 'globalStores'>): {
  subtopologies: number
  nodes: number
  stores: number
  topics: number
} {
  const stores = new Set<string>()
  const topics = new Set<string>()
  let nodes = 0
  for (const sub of view.subtopologies) {
    for (const n of sub.nodes) {
      nodes++
      switch (n.type) {
        case 'source':
          for (const t of n.topics) topics.add(t)
          break
        case 'processor':
          for (const s of n.stores) stores.add(s)
          break
        case 'sink':
          if (n.topic !== null) topics.add(n.topic)
          break
      }
    }
  }
  for (const g of view.globalStores) {
    topics.add(g.source.topic)
    for (const s of g.processor.stores) stores.add(s)
  }
  return { subtopologies: view.subtopologies.length, nodes, stores: stores.size, topics: topics.size }
}

/** Sizes `fitLayout` works with. */
export const FIT = {
  /** Narrowest box of a left-to-right layout before it switches to top to bottom. */
  minHorizontalNodeWidth: 132,
  maxNodeWidth: 210,
  minVerticalNodeWidth: 112,
  /** Room for the kind label and two lines of name. */
  nodeHeight: 58,
  /** A store name may take two lines. */
  storeLineHeight: 36,
  layerGap: 30,
  siblingGap: 12
} as const

/**
 * The layout of `sub` for a panel `availableWidth` wide: left to right with boxes as wide as the
 * panel allows (names wrap onto two lines), or top to bottom when the boxes would get narrower than
 * `FIT.minHorizontalNodeWidth` (phones).
 */
export function fitLayout(sub: TopologyView['subtopologies'][number], availableWidth: number): SubtopologyLayout {
  const probe = layoutSubtopology(sub, { direction: 'horizontal', nodeWidth: 1, layerGap: 0, siblingGap: 0 })
  const layers = new Map<number, number>()
  for (const b of probe.boxes) layers.set(b.layer, (layers.get(b.layer) ?? 0) + 1)
  const layerCount = Math.max(1, layers.size)
  const widest = Math.max(1, ...layers.values())
  const common = { nodeHeight: FIT.nodeHeight, storeLineHeight: FIT.storeLineHeight, layerGap: FIT.layerGap, siblingGap: FIT.siblingGap }
  const horizontal = Math.floor((availableWidth - (layerCount - 1) * FIT.layerGap) / layerCount)
  if (horizontal >= FIT.minHorizontalNodeWidth) {
    return layoutSubtopology(sub, { ...common, direction: 'horizontal', nodeWidth: Math.min(FIT.maxNodeWidth, horizontal) })
  }
  const vertical = Math.floor((availableWidth - (widest - 1) * FIT.siblingGap) / widest)
  return layoutSubtopology(sub, { ...common, direction: 'vertical', nodeWidth: Math.max(FIT.minVerticalNodeWidth, Math.min(FIT.maxNodeWidth, vertical)) })
}
