/**
 * Window statistics per `(sensor_id, traveler_type)` (Processor API, inside the sensor's task): the
 * contract's `traffic.stats.1m` (tumbling) and `traffic.stats.5m` (hopping) aggregates.
 *
 * It follows Kafka Streams' KStreamWindowAggregate: each observation updates every window that
 * contains it and is still open; a window whose end + grace is at or before the task's stream time is
 * closed, and a record for it is dropped from that window and counted as late (once per closed
 * window). The store is cached, so each window emits at most once per commit.
 */
import {
  DropReason,
  TableForwarder,
  type Change,
  type Processor,
  type ProcessorContext,
  type ProcessorSupplier,
  type StreamRecord,
  type TimeWindows
} from '../../processors/index.ts'
import { SerdeError, TravelerTypeSymbols, type Serde, type TrafficWindowStats, type TravelerType } from '../../schemas/index.ts'
import { Stores, type StateStore, type StoreBuilder, type Windowed, type WindowStore } from '../../state/index.ts'
import { statsKey } from './contract.ts'
import { storeKeySerde } from '../shared/index.ts'
import type { TravelerEvent } from './traveler-state.ts'

/** The running aggregate of one window. */
export interface WindowStatsAggregate {
  readonly sensorId: string
  readonly travelerType: TravelerType
  readonly observations: number
  readonly travelers: number
  readonly speedSamples: number
  /** Meaningless when `speedSamples` is 0. */
  readonly speedMin: number
  readonly speedMax: number
  readonly speedSum: number
}

/**
 * Binary layout of a `WindowStatsAggregate`:
 *   u8 type index | u32 BE observations | u32 BE travelers | u32 BE speed samples
 *   | f64 BE min | f64 BE max | f64 BE sum | UTF-8 sensor id (rest)
 */
export const windowStatsSerde: Serde<WindowStatsAggregate> = {
  serialize(_topic, agg) {
    const sensor = Buffer.from(agg.sensorId, 'utf8')
    // Unpooled: the record cache keeps this buffer (see storeKeySerde).
    const out = Buffer.allocUnsafeSlow(37 + sensor.length)
    out.writeUInt8(TravelerTypeSymbols.indexOf(agg.travelerType), 0)
    out.writeUInt32BE(agg.observations, 1)
    out.writeUInt32BE(agg.travelers, 5)
    out.writeUInt32BE(agg.speedSamples, 9)
    out.writeDoubleBE(agg.speedMin, 13)
    out.writeDoubleBE(agg.speedMax, 21)
    out.writeDoubleBE(agg.speedSum, 29)
    sensor.copy(out, 37)
    return out
  },
  deserialize(topic, data) {
    const travelerType = TravelerTypeSymbols[data.length >= 37 ? data.readUInt8(0) : 255]
    if (travelerType === undefined) throw new SerdeError('TRAFFIC_WINDOW_STATS', `corrupt window aggregate on ${topic} (${data.length} bytes)`)
    return {
      travelerType,
      observations: data.readUInt32BE(1),
      travelers: data.readUInt32BE(5),
      speedSamples: data.readUInt32BE(9),
      speedMin: data.readDoubleBE(13),
      speedMax: data.readDoubleBE(21),
      speedSum: data.readDoubleBE(29),
      sensorId: data.toString('utf8', 37)
    }
  }
}

/** Adds one observation (and its sample) to a window's aggregate; `newTraveler` bumps `travelers`. */
export function addToWindow(agg: WindowStatsAggregate | undefined, event: TravelerEvent, newTraveler: boolean): WindowStatsAggregate {
  const sample = event.sample
  const base: WindowStatsAggregate = agg ?? {
    sensorId: event.sensorId,
    travelerType: event.travelerType,
    observations: 0,
    travelers: 0,
    speedSamples: 0,
    speedMin: 0,
    speedMax: 0,
    speedSum: 0
  }
  const first = base.speedSamples === 0
  return {
    sensorId: base.sensorId,
    travelerType: base.travelerType,
    observations: base.observations + 1,
    travelers: base.travelers + (newTraveler ? 1 : 0),
    speedSamples: base.speedSamples + (sample === null ? 0 : 1),
    speedMin: sample === null ? base.speedMin : first ? sample.speedMps : Math.min(base.speedMin, sample.speedMps),
    speedMax: sample === null ? base.speedMax : first ? sample.speedMps : Math.max(base.speedMax, sample.speedMps),
    speedSum: sample === null ? base.speedSum : base.speedSum + sample.speedMps
  }
}

/** The contract's `TrafficWindowStats` value of a window aggregate. */
export function toWindowStats(agg: WindowStatsAggregate, windowStartMs: number, windowEndMs: number): TrafficWindowStats {
  const any = agg.speedSamples > 0
  return {
    sensor_id: agg.sensorId,
    traveler_type: agg.travelerType,
    window_start: windowStartMs,
    window_end: windowEndMs,
    observations: agg.observations,
    travelers: agg.travelers,
    speed_samples: agg.speedSamples,
    speed_min: any ? agg.speedMin : null,
    speed_max: any ? agg.speedMax : null,
    speed_mean: any ? agg.speedSum / agg.speedSamples : null
  }
}

/** Options of one window-statistics aggregation. */
export interface WindowStatsOptions {
  readonly storeName: string
  readonly windows: TimeWindows
  readonly retentionMs: number
  readonly inMemory?: boolean
}

/** The window store of an aggregation: key `sensor_id|traveler_type`, cached and logged. */
export function windowStatsStoreBuilder(options: WindowStatsOptions): StoreBuilder<StateStore> {
  const supplierOptions = { retentionMs: options.retentionMs, windowSizeMs: options.windows.sizeMs }
  const supplier =
    options.inMemory === true
      ? Stores.inMemoryWindowStore(options.storeName, supplierOptions)
      : Stores.persistentWindowStore(options.storeName, supplierOptions)
  return Stores.windowStoreBuilder(supplier, storeKeySerde, windowStatsSerde).withCachingEnabled() as StoreBuilder<StateStore>
}

/** The aggregation processor: `TravelerEvent`s in, window changes out. */
export function windowStatsProcessor(options: WindowStatsOptions): ProcessorSupplier<string, TravelerEvent, Windowed<string>, Change<WindowStatsAggregate>> {
  const { windows, storeName } = options
  return (): Processor<string, TravelerEvent, Windowed<string>, Change<WindowStatsAggregate>> => {
    let context: ProcessorContext<Windowed<string>, Change<WindowStatsAggregate>>
    let store: WindowStore<string, WindowStatsAggregate>
    let forwarder: TableForwarder<Windowed<string>, WindowStatsAggregate>
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(storeName)
        forwarder = new TableForwarder(store, ctx)
      },
      process(record: StreamRecord<string, TravelerEvent>) {
        const event = record.value
        const key = `${event.sensorId}|${event.travelerType}`
        const closeTimeMs = context.currentStreamTimeMs() - windows.graceMs
        for (const startMs of windows.windowStartsFor(record.timestampMs)) {
          const endMs = startMs + windows.sizeMs
          if (endMs <= closeTimeMs) {
            context.recordDropped(DropReason.LATE)
            continue
          }
          const old = store.fetchWindow(key, startMs)
          const newTraveler = !event.seenMinutes.some((m) => m >= startMs && m < endMs)
          const aggregate = addToWindow(old, event, newTraveler)
          store.put(key, aggregate, startMs)
          forwarder.maybeForward({ key, window: { startMs, endMs } }, aggregate, old ?? null, record.timestampMs, record.headers)
        }
      }
    }
  }
}

/** Turns window changes into output records: key `sensor|type|window_start_ms`, value the contract's stats. */
export function windowStatsOutputProcessor(): ProcessorSupplier<Windowed<string>, Change<WindowStatsAggregate>, string, TrafficWindowStats | null> {
  return () => {
    let context: ProcessorContext<string, TrafficWindowStats | null>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const { window } = record.key
        const agg = record.value.newValue
        // Windows are never deleted (retention only drops old ones silently), so there is always a new value.
        if (agg === null) return
        context.forward({
          key: statsKey(agg.sensorId, agg.travelerType, window.startMs),
          value: toWindowStats(agg, window.startMs, window.endMs),
          timestampMs: record.timestampMs,
          headers: {}
        })
      }
    }
  }
}
