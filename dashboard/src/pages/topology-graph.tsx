/**
 * The workers' topology as a graph: one panel per sub-topology, boxes for topics, sources,
 * processors (with their state stores) and sinks, connected by curves. Layers run left to right
 * when the panel is wide enough and top to bottom otherwise (phones).
 */
import { createMemo, createSignal, For, onCleanup, onMount, Show, type JSX } from 'solid-js'
import type { TopologyView } from '../api/types.ts'
import { fitLayout, type BoxKind, type SubtopologyLayout } from '../lib/topology-layout.ts'

const KIND_LABEL: Readonly<Record<BoxKind, string>> = { topic: 'Topic', source: 'Source', processor: 'Processor', sink: 'Sink' }

function Graph(props: { layout: SubtopologyLayout; available: number }): JSX.Element {
  // fitLayout sizes the boxes for the panel; a graph too wide even so (very many layers or siblings)
  // shrinks a little, then scrolls, so the text stays legible.
  const scale = (): number => Math.min(1, Math.max(0.8, props.available / Math.max(1, props.layout.width)))
  return (
    <div class="topo-scroll">
      <div class="topo-frame" style={{ width: `${props.layout.width * scale()}px`, height: `${props.layout.height * scale()}px` }}>
        <div class="topo-canvas" style={{ width: `${props.layout.width}px`, height: `${props.layout.height}px`, transform: `scale(${scale()})` }}>
          <svg class="topo-edges" width={props.layout.width} height={props.layout.height} aria-hidden="true">
            <defs>
              <marker id={`arrow-${props.layout.id}`} viewBox="0 0 10 10" refX="9" refY="5" markerWidth="7" markerHeight="7" orient="auto-start-reverse">
                <path d="M0,0 L10,5 L0,10 z" fill="#94a3b8" />
              </marker>
            </defs>
            <For each={props.layout.edges}>{(e) => <path d={e.path} marker-end={`url(#arrow-${props.layout.id})`} />}</For>
          </svg>
          <For each={props.layout.boxes}>
            {(b) => (
              <div
                class={`topo-node topo-${b.kind}`}
                style={{ left: `${b.x}px`, top: `${b.y}px`, width: `${b.width}px`, height: `${b.height}px` }}
                title={b.topics.length > 0 && b.kind !== 'topic' ? `${b.label} (${b.topics.join(', ')})` : b.label}
                data-testid="topology-node"
                data-kind={b.kind}
                data-name={b.label}
              >
                <div class="topo-kind">{KIND_LABEL[b.kind]}</div>
                <div class="topo-name">{b.label}</div>
                <For each={b.stores}>
                  {(s) => (
                    <div class="topo-store" data-testid="topology-store" title={`state store ${s}`}>
                      {s}
                    </div>
                  )}
                </For>
              </div>
            )}
          </For>
        </div>
      </div>
    </div>
  )
}

export function TopologyGraph(props: { topology: TopologyView }): JSX.Element {
  let host: HTMLDivElement | undefined
  const [width, setWidth] = createSignal(1200)
  onMount(() => {
    const el = host
    if (el === undefined) return
    setWidth(el.clientWidth)
    const observer = new ResizeObserver(() => setWidth(el.clientWidth))
    observer.observe(el)
    onCleanup(() => observer.disconnect())
  })
  const layouts = createMemo(() => props.topology.subtopologies.map((sub) => fitLayout(sub, width() - 2)))
  return (
    <div
      ref={(el) => {
        host = el
      }}
      class="topology"
      data-testid="topology"
    >
      <For each={layouts()}>
        {(layout) => (
          <figure class="subtopology" data-testid="subtopology">
            <figcaption>Sub-topology {layout.id}</figcaption>
            <Graph layout={layout} available={width() - 2} />
          </figure>
        )}
      </For>
      <Show when={props.topology.globalStores.length > 0}>
        <figure class="subtopology">
          <figcaption>Global stores</figcaption>
          <ul class="plain-list">
            <For each={props.topology.globalStores}>
              {(g) => (
                <li>
                  <span class="mono">{g.source.topic}</span> → <span class="mono">{g.processor.name}</span> ({g.processor.stores.join(', ')})
                </li>
              )}
            </For>
          </ul>
        </figure>
      </Show>
    </div>
  )
}
