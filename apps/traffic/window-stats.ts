/**
 * Window statistics per `(sensor_id, traveler_type)`: the aggregate type of the contract's
 * `traffic.stats.1m` (tumbling) and `traffic.stats.5m` (hopping) windows, its store serde, and the
 * aggregator the library's windowed aggregation calls (topology.ts). Windows, lateness and caching
 * are the library's (`TimeWindowedKStream.aggregate`); what is the traffic's is that a traveler
 * counts once per window, which needs the window the aggregator updates.
 */
import type { ProcessorContext, ProcessorSupplier } from '../../processors/index.ts'
import { SerdeError, TravelerTypeSymbols, type Serde, type TrafficWindowStats, type TravelerType } from '../../schemas/index.ts'
import type { TimeWindow, Windowed } from '../../state/index.ts'
import { statsKey } from './contract.ts'
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

/** The aggregate of a window nothing was added to yet (the initializer): its sensor and type come with the first observation. */
export function emptyWindowStats(): WindowStatsAggregate {
  return { sensorId: '', travelerType: 'UNKNOWN', observations: 0, travelers: 0, speedSamples: 0, speedMin: 0, speedMax: 0, speedSum: 0 }
}

/**
 * The aggregator of both window aggregations: adds one observation to the window's aggregate. The
 * traveler counts in `travelers` when none of the minutes it was seen in before falls in the window.
 */
export function addToWindow(_key: string, event: TravelerEvent, agg: WindowStatsAggregate, window: TimeWindow): WindowStatsAggregate {
  const sample = event.sample
  const newTraveler = !event.seenMinutes.some((m) => m >= window.startMs && m < window.endMs)
  const first = agg.speedSamples === 0
  return {
    sensorId: event.sensorId,
    travelerType: event.travelerType,
    observations: agg.observations + 1,
    travelers: agg.travelers + (newTraveler ? 1 : 0),
    speedSamples: agg.speedSamples + (sample === null ? 0 : 1),
    speedMin: sample === null ? agg.speedMin : first ? sample.speedMps : Math.min(agg.speedMin, sample.speedMps),
    speedMax: sample === null ? agg.speedMax : first ? sample.speedMps : Math.max(agg.speedMax, sample.speedMps),
    speedSum: sample === null ? agg.speedSum : agg.speedSum + sample.speedMps
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

/** Turns window updates into output records: key `sensor|type|window_start_ms`, value the contract's stats. */
export function windowStatsOutputProcessor(): ProcessorSupplier<Windowed<string>, WindowStatsAggregate | null, string, TrafficWindowStats | null> {
  return () => {
    let context: ProcessorContext<string, TrafficWindowStats | null>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const { window } = record.key
        const agg = record.value
        // Windows are never deleted (retention only drops old ones silently), so there is always a value.
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
