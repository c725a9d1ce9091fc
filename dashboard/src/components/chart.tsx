/**
 * A uPlot time chart as a Solid component. uPlot draws on a canvas; this wrapper creates it once,
 * feeds it new columns with `setData` (no re-creation on updates), follows its container's width,
 * and registers the instance under its id in `window.__runnelCharts` so tests (and curious people
 * in the console) can read exactly what is plotted.
 */
import { createEffect, on, onCleanup, onMount, type JSX } from 'solid-js'
import uPlot from 'uplot'
import 'uplot/dist/uPlot.min.css'
import { formatDateTime } from '../lib/format.ts'
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
  /** `line` (default), `bars` (one bar per window) or `area` (line with a light fill). */
  readonly kind?: 'line' | 'bars' | 'area'
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

function buildOptions(props: ChartProps, width: number): uPlot.Options {
  const bars = uPlot.paths.bars?.({ size: [0.7, 24, 1], align: 1 })
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
    values: (_u, splits) => splits.map((v) => (a.format === undefined ? String(v) : a.format(v)))
  })
  const axes: uPlot.Axis[] = [
    { font: FONT, stroke: AXIS_COLOR, grid: { stroke: GRID_COLOR, width: 1 }, ticks: { show: false }, size: 36, gap: 6 },
    axis(props.left, 3, 'left', true)
  ]
  if (props.right !== undefined) axes.push(axis(props.right, 1, 'right', false))
  return {
    width,
    height: props.height ?? 260,
    ms: 1,
    padding: [12, 8, 0, 4],
    cursor: { sync: { key: 'runnel-traffic' }, points: { size: 7 }, drag: { x: false, y: false } },
    legend: { live: true },
    scales: {
      x: { time: true },
      left: { range: fromZero },
      ...(props.right === undefined ? {} : { right: { range: fromZero } })
    },
    axes,
    series: [
      { label: 'Window', value: (_u, v) => (v === null ? '—' : formatDateTime(v)) },
      ...props.series.map((s): uPlot.Series => ({
        label: s.label,
        scale: s.axis === 'right' ? 'right' : 'left',
        stroke: s.color,
        width: s.width ?? 2,
        ...(s.dash === undefined ? {} : { dash: s.dash }),
        ...(s.kind === 'bars' && bars !== undefined ? { paths: bars, fill: withAlpha(s.color, 0.55), width: 0 } : {}),
        ...(s.kind === 'area' ? { fill: withAlpha(s.color, 0.12) } : {}),
        points: { show: false },
        spanGaps: false,
        value: (_u, v) => s.format(v)
      }))
    ],
    ...(props.band === undefined ? {} : { bands: [{ series: [props.band[0] + 1, props.band[1] + 1] as [number, number], fill: withAlpha(props.series[props.band[0]]?.color ?? '#2563eb', 0.08) }] })
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

  createEffect(on(() => props.columns, (columns) => {
    if (chart === undefined || host === undefined) return
    chart.setData(columns as unknown as uPlot.AlignedData)
    version++
    host.dataset.version = String(version)
  }, { defer: true }))

  return <div ref={(el) => { host = el }} class="chart" data-chart={props.id} data-version="0" role="img" aria-label={props.title} />
}
