/** The filter bar of the traffic page: sensor, traveler type, time range, resolution, live. */
import { createSignal, For, Show, type JSX } from 'solid-js'
import type { Resolution, SensorSummary, TravelerType } from '../api/types.ts'
import { Segmented, StatusDot } from '../components/ui.tsx'
import { formatTravelerType, naturalCompare } from '../lib/format.ts'
import { fromLocalInputValue, RANGE_PRESETS, RangePresets, toLocalInputValue, type RangeSelection } from '../lib/time-range.ts'
import type { LiveStatus } from './traffic-series.ts'

export interface TrafficFiltersProps {
  readonly sensors: readonly SensorSummary[] | undefined
  readonly travelerTypes: readonly TravelerType[]
  readonly sensorId: string
  readonly travelerType: TravelerType | 'all'
  readonly selection: RangeSelection
  readonly resolution: Resolution
  readonly live: boolean
  readonly liveStatus: LiveStatus
  readonly rangeError: string | undefined
  /** Current range, for prefilling the custom inputs. */
  readonly rangeFrom: number | undefined
  readonly rangeTo: number | undefined
  onSensor(id: string): void
  onTravelerType(type: TravelerType | 'all'): void
  onSelection(selection: RangeSelection): void
  onResolution(resolution: Resolution): void
  onLive(live: boolean): void
}

/** How each live status is shown (the commerce page uses the same). */
export const LIVE_LABEL: Readonly<Record<LiveStatus, { tone: 'ok' | 'warn' | 'bad' | 'idle'; label: string }>> = {
  off: { tone: 'idle', label: 'Paused' },
  connecting: { tone: 'warn', label: 'Connecting…' },
  live: { tone: 'ok', label: 'Live' },
  reconnecting: { tone: 'warn', label: 'Reconnecting…' },
  failed: { tone: 'bad', label: 'Live updates failed' }
}

export function TrafficFilters(props: TrafficFiltersProps): JSX.Element {
  const [customFrom, setCustomFrom] = createSignal('')
  const [customTo, setCustomTo] = createSignal('')
  // Ids (strings), so that a refreshed sensor list keeps the existing <option> nodes and the selection.
  const sortedIds = (): string[] => (props.sensors ?? []).map((s) => s.sensorId).sort(naturalCompare)
  const seenTypes = (): Set<string> => {
    const all = props.sensors ?? []
    const chosen = props.sensorId === 'all' ? all : all.filter((s) => s.sensorId === props.sensorId)
    return new Set(chosen.flatMap((s) => s.travelerTypes))
  }
  const rangeValue = (): string => (props.selection.kind === 'preset' ? props.selection.preset : 'custom')
  const openCustom = (): void => {
    // Start from what is shown now, so "Custom" refines the current view.
    if (props.rangeFrom !== undefined && props.rangeTo !== undefined) {
      setCustomFrom(toLocalInputValue(props.rangeFrom))
      setCustomTo(toLocalInputValue(props.rangeTo))
      props.onSelection({ kind: 'custom', from: props.rangeFrom, to: props.rangeTo })
    }
  }
  const applyCustom = (event: SubmitEvent): void => {
    event.preventDefault()
    props.onSelection({ kind: 'custom', from: fromLocalInputValue(customFrom()), to: fromLocalInputValue(customTo()) })
  }

  return (
    <div class="filters" data-testid="filters">
      <label class="field field-inline">
        <span class="field-label">Sensor</span>
        <select
          data-testid="filter-sensor"
          value={props.sensorId}
          onChange={(e) => props.onSensor(e.currentTarget.value)}
          disabled={props.sensors === undefined}
        >
          <option value="all" selected={props.sensorId === 'all'}>
            All sensors{props.sensors === undefined ? '' : ` (${props.sensors.length})`}
          </option>
          <For each={sortedIds()}>
            {(id) => (
              <option value={id} selected={id === props.sensorId}>
                {id}
              </option>
            )}
          </For>
          <Show when={props.sensorId !== 'all' && props.sensors !== undefined && !props.sensors.some((s) => s.sensorId === props.sensorId)}>
            <option value={props.sensorId}>{props.sensorId}</option>
          </Show>
        </select>
      </label>
      <label class="field field-inline">
        <span class="field-label">Traveler type</span>
        <select data-testid="filter-type" value={props.travelerType} onChange={(e) => props.onTravelerType(e.currentTarget.value as TravelerType | 'all')}>
          <option value="all" selected={props.travelerType === 'all'}>
            All types
          </option>
          <For each={props.travelerTypes}>
            {(t) => (
              <option value={t} selected={t === props.travelerType}>
                {formatTravelerType(t)}
                {props.sensors !== undefined && !seenTypes().has(t) ? ' · no data' : ''}
              </option>
            )}
          </For>
        </select>
      </label>
      <div class="field field-inline field-range">
        <span class="field-label">Time range</span>
        <Segmented
          name="range"
          label="Time range"
          value={rangeValue()}
          options={[...RANGE_PRESETS.map((p) => ({ value: p as string, label: RangePresets[p].short })), { value: 'custom', label: 'Custom' }]}
          onChange={(v) => (v === 'custom' ? openCustom() : props.onSelection({ kind: 'preset', preset: v as (typeof RANGE_PRESETS)[number] }))}
        />
      </div>
      <div class="field field-inline">
        <span class="field-label">Resolution</span>
        <Segmented
          name="resolution"
          label="Window resolution"
          value={props.resolution}
          options={[
            { value: '1m', label: '1 min' },
            { value: '5m', label: '5 min' }
          ]}
          onChange={(v) => props.onResolution(v)}
        />
      </div>
      <div class="field field-inline field-live">
        <span class="field-label">Updates</span>
        <label class="switch" data-testid="live-toggle">
          <input type="checkbox" role="switch" checked={props.live} onChange={(e) => props.onLive(e.currentTarget.checked)} />
          <span class="switch-track" aria-hidden="true">
            <span class="switch-thumb" />
          </span>
          <StatusDot
            tone={LIVE_LABEL[props.liveStatus].tone}
            label={LIVE_LABEL[props.liveStatus].label}
            pulse={props.liveStatus === 'live'}
            testId="live-status"
          />
        </label>
      </div>
      <Show when={props.selection.kind === 'custom'}>
        <form class="custom-range" onSubmit={applyCustom} data-testid="custom-range">
          <label class="field field-inline">
            <span class="field-label">From</span>
            <input type="datetime-local" value={customFrom()} onInput={(e) => setCustomFrom(e.currentTarget.value)} data-testid="custom-from" required />
          </label>
          <label class="field field-inline">
            <span class="field-label">To</span>
            <input type="datetime-local" value={customTo()} onInput={(e) => setCustomTo(e.currentTarget.value)} data-testid="custom-to" required />
          </label>
          <button type="submit" class="button button-primary" data-testid="custom-apply">
            Apply
          </button>
        </form>
      </Show>
      <Show when={props.rangeError !== undefined}>
        <p class="form-error filters-error" role="alert" data-testid="range-error">
          {props.rangeError}
        </p>
      </Show>
    </div>
  )
}
