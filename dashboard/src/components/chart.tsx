/**
 * A uPlot time chart as a Solid component. uPlot draws on a canvas; this wrapper creates it once,
 * feeds it new columns with `setData` (no re-creation on updates), follows its container's width,
 * and registers the instance under its id in `window.__runnelCharts` so tests (and curious people
 * in the console) can read exactly what is plotted.
 */
import { createEffect, on, onCleanup, onMount, type JSX } from 'solid-js'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatClock, formatTimeTicks } from '../lib/format.ts'
import type { ChartColumns } from '../lib/series-data.ts'

declare global {
  interface Window {
    /** Charts on the page by id (see chart.tsx). */
    __runnelCharts?: Record<string, uPlot>
  }
}

/** One plotted series. */
export interface ChartSeries {
  readonly label: string
  readonly color: string
  /** `line` (default), `step` (flat over each window), `bars` (one bar per window) or `area` (line with a light fill). */
  readonly kind?: 'line' | 'step' | 'bars' | 'area'
  /** Which y axis: the left (default) or the right one. */
  readonly axis?: 'left' | 'right'
  readonly width?: number
  readonly dash?: number[]
  /** Legend value text. */
  readonly format: (value: number | null) => string
}

/** An axis title and its tick text. */
export interface ChartAxis {
  readonly label: string
  readonly format?: (value: number) => string
  /** Counts: ticks only at whole numbers. */
  readonly integer?: boolean
}

/** Tick steps of count axes: whole numbers only. */
const INTEGER_INCRS = [
  1, 2, 5, 10, 20, 25, 50, 100, 200, 250, 500, 1_000, 2_000, 2_500, 5_000, 10_000, 20_000, 25_000, 50_000, 100_000, 250_000, 500_000, 1e6, 2.5e6, 5e6, 1e7,
  2.5e7, 5e7, 1e8
]

/** Points to draw on a line: only values with no neighbour, which a line alone would not show. */
function isolatedPoints(u: uPlot, seriesIdx: number): number[] {
  const ys = u.data[seriesIdx] ?? []
  const out: number[] = []
  for (let i = 0; i < ys.length; i++) {
    if (ys[i] != null && ys[i - 1] == null && ys[i + 1] == null) out.push(i)
  }
  return out
}

export interface ChartProps {
  /** Stable id: `window.__runnelCharts[id]` and the `data-chart` attribute. */
  readonly id: string
  readonly series: readonly ChartSeries[]
  readonly left: ChartAxis
  readonly right?: ChartAxis
  /** x = epoch ms, then one column per series, in `series` order. */
  readonly columns: ChartColumns
  /** Fill between two series, by their index in `series` (upper, lower). */
  readonly band?: readonly [number, number]
  readonly height?: number
  /** Plot area aria-label. */
  readonly title: string
  /** Shortest time span the x axis shows, ms (a chart of a few seconds of history stays readable). */
  readonly minSpanMs?: number
  /** Legend name and text of the x value (default `Window`, `HH:mm`). */
  readonly xLabel?: string
  readonly xFormat?: (ms: number) => string
}

function withAlpha(hex: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(hex)
  if (m === null) return hex
  const n = Number.parseInt(m[1] as string, 16)
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`
}

const AXIS_COLOR = '#64748b'
const GRID_COLOR = 'rgba(148, 163, 184, 0.22)'
const FONT = '12px ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'
const LABEL_FONT = '600 12px ui-sans-serif, system-ui, -apple-system, "Segoe UI", Roboto, sans-serif'

/** Upper bound of a count or speed scale: a little headroom, never an empty range. */
function fromZero(_u: uPlot, _min: number | null, max: number | null): uPlot.Range.MinMax {
  const top = max === null || !Number.isFinite(max) || max <= 0 ? 1 : max * 1.12
  return [0, top]
}

/** The index whose values the legend shows while the cursor is elsewhere: the latest with any value. */
function latestIndex(u: uPlot): number | null {
  const xs = u.data[0]
  for (let i = xs.length - 1; i >= 0; i--) {
    for (let s = 1; s < u.data.length; s++) if (u.data[s]?.[i] != null) return i
  }
  return null
}

function showLatest(u: uPlot): void {
  if (u.cursor.idx != null) return
  const idx = latestIndex(u)
  if (idx !== null) u.setLegend({ idx }, false)
}

function buildOptions(props: ChartProps, width: number): uPlot.Options {
  const bars = uPlot.paths.bars?.({ size: [0.7, 24, 1], align: 1 })
  const steps = uPlot.paths.stepped?.({ align: 1 })
  const axis = (a: ChartAxis, side: 1 | 3, scale: string, showGrid: boolean): uPlot.Axis => ({
    scale,
    side,
    label: a.label,
    labelFont: LABEL_FONT,
    labelSize: 20,
    font: FONT,
    stroke: AXIS_COLOR,
    size: 52,
    gap: 6,
    grid: { show: showGrid, stroke: GRID_COLOR, width: 1 },
    ticks: { show: false },
    ...(a.integer === true ? { incrs: INTEGER_INCRS } : {}),
    values: (_u, splits) => splits.map((v) => (a.format === undefined ? String(v) : a.format(v)))
  })
  const axes: uPlot.Axis[] = [
    {
      font: FONT,
      stroke: AXIS_COLOR,
      grid: { stroke: GRID_COLOR, width: 1 },
      ticks: { show: false },
      size: 44,
      gap: 6,
      space: 64,
      values: (_u, splits, _axis, _space, incr) => formatTimeTicks(splits, incr)
    },
    axis(props.left, 3, 'left', true)
  ]
  if (props.right !== undefined) axes.push(axis(props.right, 1, 'right', false))
  return {
    width,
    height: props.height ?? 260,
    ms: 1,
    // Room on the right for the last time label when no axis is there.
    padding: [12, props.right === undefined ? 20 : 8, 0, 4],
    cursor: { sync: { key: 'runnel-traffic' }, points: { size: 7 }, drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      x: {
        time: true,
        range: (_u, min, max): uPlot.Range.MinMax => [min, Math.max(max, min + (props.minSpanMs ?? 0))]
      },
      left: { range: fromZero },
      ...(props.right === undefined ? {} : { right: { range: fromZero } })
    },
    axes,
    hooks: {
      // Outside the plot the legend shows the latest window instead of dashes.
      setCursor: [showLatest],
      setData: [showLatest],
      ready: [showLatest]
    },
    series: [
      { label: props.xLabel ?? 'Window', value: (_u, v) => (v === null ? '—' : (props.xFormat ?? formatClock)(v)) },
      ...props.series.map((s): uPlot.Series => ({
        label: s.label,
        scale: s.axis === 'right' ? 'right' : 'left',
        stroke: s.color,
        width: s.width ?? 2,
        ...(s.dash === undefined ? {} : { dash: s.dash }),
        ...(s.kind === 'bars' && bars !== undefined ? { paths: bars, fill: withAlpha(s.color, 0.55), width: 0 } : {}),
        ...(s.kind === 'step' && steps !== undefined ? { paths: steps } : {}),
        ...(s.kind === 'area' ? { fill: withAlpha(s.color, 0.12) } : {}),
        points: s.kind === 'bars' ? { show: false } : { show: true, size: 5, fill: s.color, filter: isolatedPoints },
        spanGaps: false,
        value: (_u, v) => s.format(v)
      }))
    ],
    ...(props.band === undefined
      ? {}
      : {
          bands: [
            { series: [props.band[0] + 1, props.band[1] + 1] as [number, number], fill: withAlpha(props.series[props.band[0]]?.color ?? '#2563eb', 0.08) }
          ]
        })
  }
}

/** A time chart over `props.columns`. */
export function TimeChart(props: ChartProps): JSX.Element {
  let host: HTMLDivElement | undefined
  let chart: uPlot | undefined
  let version = 0

  const register = (u: uPlot): void => {
    window.__runnelCharts ??= {}
    window.__runnelCharts[props.id] = u
  }

  onMount(() => {
    if (host === undefined) return
    const el = host
    chart = new uPlot(buildOptions(props, Math.max(240, el.clientWidth)), props.columns as unknown as uPlot.AlignedData, el)
    register(chart)
    const observer = new ResizeObserver(() => {
      const width = Math.max(240, el.clientWidth)
      if (chart !== undefined && Math.abs(chart.width - width) > 1) chart.setSize({ width, height: props.height ?? 260 })
    })
    observer.observe(el)
    onCleanup(() => {
      observer.disconnect()
      const charts = window.__runnelCharts
      if (charts !== undefined && charts[props.id] === chart) delete charts[props.id]
      chart?.destroy()
      chart = undefined
    })
  })

  createEffect(
    on(
      () => props.columns,
      (columns) => {
        if (chart === undefined || host === undefined) return
        chart.setData(columns as unknown as uPlot.AlignedData)
        version++
        host.dataset.version = String(version)
      },
      { defer: true }
    )
  )

  return (
    <div
      ref={(el) => {
        host = el
      }}
      class="chart"
      data-chart={props.id}
      data-version="0"
      role="img"
      aria-label={props.title}
    />
  )
}
