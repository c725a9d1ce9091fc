import { describe, expect, it } from 'vitest'
import type { TopologyView } from '../api/types.ts'
import { FIT, fitLayout, layoutSubtopology, topologyCounts, type LayoutBox } from './topology-layout.ts'

type Sub = TopologyView['subtopologies'][number]

/** The traffic topology's shape: one source, one stateful processor fanning out to three branches. */
const traffic: Sub = {
  id: 0,
  nodes: [
    { type: 'source', name: 'src', topics: ['obs'], predecessors: [], successors: ['travelers'] },
    { type: 'processor', name: 'travelers', stores: ['t-store', 't-expiry'], predecessors: ['src'], successors: ['a', 'b', 'c'] },
    { type: 'processor', name: 'a', stores: ['a-store'], predecessors: ['travelers'], successors: ['a-out'] },
    { type: 'processor', name: 'b', stores: ['b-store'], predecessors: ['travelers'], successors: ['b-out'] },
    { type: 'processor', name: 'c', stores: ['c-store'], predecessors: ['travelers'], successors: ['c-out'] },
    { type: 'sink', name: 'a-out', topic: 'out-a', predecessors: ['a'], successors: [] },
    { type: 'sink', name: 'b-out', topic: 'out-b', predecessors: ['b'], successors: [] },
    { type: 'sink', name: 'c-out', topic: 'out-c', predecessors: ['c'], successors: [] }
  ]
}

function box(layout: { boxes: readonly LayoutBox[] }, id: string): LayoutBox {
  const b = layout.boxes.find((x) => x.id === id)
  if (b === undefined) throw new Error(`no box ${id}`)
  return b
}

function overlaps(a: LayoutBox, b: LayoutBox): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height
}

describe('layoutSubtopology', () => {
  const layout = layoutSubtopology(traffic, { direction: 'horizontal', nodeWidth: 100, nodeHeight: 40, storeLineHeight: 20, layerGap: 30, siblingGap: 10 })

  it('draws every node, the topic a source reads and each topic a sink writes', () => {
    expect(layout.boxes.map((b) => b.id).sort()).toEqual([
      'node:a',
      'node:a-out',
      'node:b',
      'node:b-out',
      'node:c',
      'node:c-out',
      'node:src',
      'node:travelers',
      'topic:obs:in',
      'topic:out-a:out',
      'topic:out-b:out',
      'topic:out-c:out'
    ])
  })

  it('puts topics first and last and every node one layer after its furthest predecessor', () => {
    expect(box(layout, 'topic:obs:in').layer).toBe(0)
    expect(box(layout, 'node:src').layer).toBe(1)
    expect(box(layout, 'node:travelers').layer).toBe(2)
    expect(['a', 'b', 'c'].map((n) => box(layout, `node:${n}`).layer)).toEqual([3, 3, 3])
    expect(box(layout, 'node:a-out').layer).toBe(4)
    expect(box(layout, 'topic:out-c:out').layer).toBe(5)
  })

  it('flows left to right: each layer starts after the previous one ends', () => {
    expect(box(layout, 'node:src').x).toBe(130)
    expect(box(layout, 'topic:out-a:out').x).toBe(5 * 130)
    expect(layout.width).toBe(6 * 100 + 5 * 30)
  })

  it('makes processor boxes taller by one line per store', () => {
    expect(box(layout, 'node:travelers').height).toBe(80)
    expect(box(layout, 'node:travelers').stores).toEqual(['t-store', 't-expiry'])
    expect(box(layout, 'node:a-out').height).toBe(40)
  })

  it('keeps each branch on one line and centers the fan-out point against it', () => {
    for (const n of ['a', 'b', 'c']) {
      const proc = box(layout, `node:${n}`)
      const sink = box(layout, `node:${n}-out`)
      expect(proc.y + proc.height / 2).toBeCloseTo(sink.y + sink.height / 2 + 0, 0)
    }
    expect(box(layout, 'node:a').y).toBeLessThan(box(layout, 'node:b').y)
    expect(box(layout, 'node:b').y).toBeLessThan(box(layout, 'node:c').y)
    const mid = box(layout, 'node:travelers')
    expect(mid.y + mid.height / 2).toBeCloseTo(layout.height / 2, 6)
  })

  it('never overlaps two boxes and keeps them inside the layout', () => {
    for (const a of layout.boxes) {
      expect(a.x).toBeGreaterThanOrEqual(0)
      expect(a.y).toBeGreaterThanOrEqual(0)
      expect(a.x + a.width).toBeLessThanOrEqual(layout.width + 1e-9)
      expect(a.y + a.height).toBeLessThanOrEqual(layout.height + 1e-9)
      for (const b of layout.boxes) if (a !== b) expect(overlaps(a, b), `${a.id} / ${b.id}`).toBe(false)
    }
  })

  it('connects topic to source, each predecessor to its node and each sink to its topic', () => {
    const edges = layout.edges.map((e) => `${e.from}>${e.to}`).sort()
    expect(edges).toEqual([
      'node:a-out>topic:out-a:out',
      'node:a>node:a-out',
      'node:b-out>topic:out-b:out',
      'node:b>node:b-out',
      'node:c-out>topic:out-c:out',
      'node:c>node:c-out',
      'node:src>node:travelers',
      'node:travelers>node:a',
      'node:travelers>node:b',
      'node:travelers>node:c',
      'topic:obs:in>node:src'
    ])
    const e = layout.edges.find((x) => x.from === 'node:src') as { path: string }
    const src = box(layout, 'node:src')
    expect(e.path.startsWith(`M${src.x + src.width},${src.y + src.height / 2} C`)).toBe(true)
  })

  it('flows top to bottom in the vertical direction', () => {
    const v = layoutSubtopology(traffic, { direction: 'vertical', nodeWidth: 100, nodeHeight: 40, storeLineHeight: 20, layerGap: 30, siblingGap: 10 })
    expect(box(v, 'topic:obs:in').y).toBe(0)
    expect(box(v, 'node:src').y).toBe(70)
    // The travelers row is as tall as its box (two stores); the branch row starts after it.
    expect(box(v, 'node:a').y).toBe(70 + 70 + 80 + 30)
    expect(v.width).toBe(3 * 100 + 2 * 10)
    expect(box(v, 'node:a').x).toBeLessThan(box(v, 'node:b').x)
  })

  it('places a node under its longest path when branches join again', () => {
    const join: Sub = {
      id: 1,
      nodes: [
        { type: 'source', name: 's', topics: ['t1', 't2'], predecessors: [], successors: ['p', 'j'] },
        { type: 'processor', name: 'p', stores: [], predecessors: ['s'], successors: ['q'] },
        { type: 'processor', name: 'q', stores: [], predecessors: ['p'], successors: ['j'] },
        { type: 'processor', name: 'j', stores: [], predecessors: ['s', 'q'], successors: [] }
      ]
    }
    const l = layoutSubtopology(join, { direction: 'horizontal' })
    expect(box(l, 'node:j').layer).toBe(4)
    expect(
      l.boxes
        .filter((b) => b.kind === 'topic')
        .map((b) => b.label)
        .sort()
    ).toEqual(['t1', 't2'])
  })

  it('terminates on a cycle (not a valid topology) instead of looping', () => {
    const cyclic: Sub = {
      id: 2,
      nodes: [
        { type: 'processor', name: 'x', stores: [], predecessors: ['y'], successors: ['y'] },
        { type: 'processor', name: 'y', stores: [], predecessors: ['x'], successors: ['x'] }
      ]
    }
    const l = layoutSubtopology(cyclic, { direction: 'horizontal' })
    expect(l.boxes).toHaveLength(2)
  })
})

describe('fitLayout', () => {
  const directionOf = (l: { boxes: readonly LayoutBox[] }): 'horizontal' | 'vertical' => {
    const src = box(l, 'node:src')
    const topic = box(l, 'topic:obs:in')
    return src.x > topic.x ? 'horizontal' : 'vertical'
  }

  it('flows left to right on a desktop-wide panel, fitting its width', () => {
    const l = fitLayout(traffic, 1190)
    expect(directionOf(l)).toBe('horizontal')
    expect(l.width).toBeLessThanOrEqual(1190)
    expect(box(l, 'node:src').width).toBeGreaterThanOrEqual(FIT.minHorizontalNodeWidth)
  })

  it('caps box width on very wide panels', () => {
    expect(box(fitLayout(traffic, 4000), 'node:src').width).toBe(FIT.maxNodeWidth)
  })

  it('turns top to bottom on a phone-wide panel, three branches side by side within it', () => {
    const l = fitLayout(traffic, 380)
    expect(directionOf(l)).toBe('vertical')
    expect(l.width).toBeLessThanOrEqual(380)
    expect(box(l, 'node:a').y).toBe(box(l, 'node:c').y)
  })

  it('keeps boxes at a legible minimum width when even that does not fit (the page then scales or scrolls)', () => {
    const l = fitLayout(traffic, 300)
    expect(box(l, 'node:a').width).toBe(FIT.minVerticalNodeWidth)
    expect(l.width).toBe(3 * FIT.minVerticalNodeWidth + 2 * FIT.siblingGap)
  })

  it('gives each store room for a two-line name', () => {
    expect(box(fitLayout(traffic, 1190), 'node:travelers').height).toBe(FIT.nodeHeight + 2 * FIT.storeLineHeight)
  })
})

describe('topologyCounts', () => {
  it('counts nodes, distinct stores and distinct topics', () => {
    expect(
      topologyCounts({
        subtopologies: [traffic],
        globalStores: [{ id: 1, source: { name: 'g', topic: 'global' }, processor: { name: 'gp', stores: ['g-store', 'a-store'] } }]
      })
    ).toEqual({ subtopologies: 1, nodes: 8, stores: 6, topics: 5 })
  })
})
