/**
 * Traveler sessions: session windows per `sensor_id|traveler_id` (gap 30 s, inclusive, grace 30 s),
 * inside the sensor's task. When a late observation joins sessions, the merged session is emitted
 * and the keys of the sessions it replaced receive tombstones.
 */
import { DropReason, TableForwarder, type Change, type ProcessorContext, type ProcessorSupplier, type SessionWindows } from '../../processors/index.ts'
import { SerdeError, TravelerTypeSymbols, type Serde, type TravelerSession, type TravelerType } from '../../schemas/index.ts'
import { Stores, type StateStore, type StoreBuilder, type Windowed, type WindowStore } from '../../state/index.ts'
import { sessionKey } from './contract.ts'
import { storeKeySerde } from '../shared/index.ts'
import type { TravelerEvent } from './traveler-state.ts'

/** The running aggregate of one session. */
export interface SessionAggregate {
  readonly sensorId: string
  readonly travelerId: string
  /** First and last observation times of the session, epoch ms. */
  readonly startMs: number
  readonly endMs: number
  readonly observations: number
  readonly speedSamples: number
  readonly distanceM: number
  /** Meaningless when `speedSamples` is 0. */
  readonly speedMax: number
  readonly speedSum: number
  /** Type of the observation with the greatest timestamp (ties: the one that arrived last). */
  readonly travelerType: TravelerType
  readonly typeTimestampMs: number
  /** Input offset of that observation (arrival order within the sensor's partition). */
  readonly typeArrival: number
}

/**
 * Binary layout of a `SessionAggregate`:
 *   u32 BE observations | u32 BE speed samples | f64 BE distance | f64 BE max | f64 BE sum
 *   | u8 type index | f64 BE type timestamp | f64 BE type arrival | f64 BE start | f64 BE end
 *   | u16 BE sensor id length | UTF-8 sensor id | UTF-8 traveler id (rest)
 */
const HEADER_BYTES = 67

export const sessionAggregateSerde: Serde<SessionAggregate> = {
  serialize(_topic, agg) {
    const sensor = Buffer.from(agg.sensorId, 'utf8')
    const traveler = Buffer.from(agg.travelerId, 'utf8')
    // Unpooled: the record cache keeps this buffer (see storeKeySerde).
    const out = Buffer.allocUnsafeSlow(HEADER_BYTES + sensor.length + traveler.length)
    out.writeUInt32BE(agg.observations, 0)
    out.writeUInt32BE(agg.speedSamples, 4)
    out.writeDoubleBE(agg.distanceM, 8)
    out.writeDoubleBE(agg.speedMax, 16)
    out.writeDoubleBE(agg.speedSum, 24)
    out.writeUInt8(TravelerTypeSymbols.indexOf(agg.travelerType), 32)
    out.writeDoubleBE(agg.typeTimestampMs, 33)
    out.writeDoubleBE(agg.typeArrival, 41)
    out.writeDoubleBE(agg.startMs, 49)
    out.writeDoubleBE(agg.endMs, 57)
    out.writeUInt16BE(sensor.length, 65)
    sensor.copy(out, HEADER_BYTES)
    traveler.copy(out, HEADER_BYTES + sensor.length)
    return out
  },
  deserialize(topic, data) {
    const travelerType = TravelerTypeSymbols[data.length >= HEADER_BYTES ? data.readUInt8(32) : 255]
    const sensorLength = data.length >= HEADER_BYTES ? data.readUInt16BE(65) : Infinity
    if (travelerType === undefined || HEADER_BYTES + sensorLength > data.length) {
      throw new SerdeError('TRAFFIC_SESSION', `corrupt session aggregate on ${topic} (${data.length} bytes)`)
    }
    return {
      observations: data.readUInt32BE(0),
      speedSamples: data.readUInt32BE(4),
      distanceM: data.readDoubleBE(8),
      speedMax: data.readDoubleBE(16),
      speedSum: data.readDoubleBE(24),
      travelerType,
      typeTimestampMs: data.readDoubleBE(33),
      typeArrival: data.readDoubleBE(41),
      startMs: data.readDoubleBE(49),
      endMs: data.readDoubleBE(57),
      sensorId: data.toString('utf8', HEADER_BYTES, HEADER_BYTES + sensorLength),
      travelerId: data.toString('utf8', HEADER_BYTES + sensorLength)
    }
  }
}

/** The aggregate of a session before its first observation (also the start of a merge). */
export function emptySession(): SessionAggregate {
  return {
    sensorId: '',
    travelerId: '',
    startMs: Infinity,
    endMs: -Infinity,
    observations: 0,
    speedSamples: 0,
    distanceM: 0,
    speedMax: 0,
    speedSum: 0,
    travelerType: 'UNKNOWN',
    typeTimestampMs: -Infinity,
    typeArrival: -Infinity
  }
}

function laterType(a: SessionAggregate, b: SessionAggregate): SessionAggregate {
  if (b.typeTimestampMs !== a.typeTimestampMs) return b.typeTimestampMs > a.typeTimestampMs ? b : a
  return b.typeArrival > a.typeArrival ? b : a
}

/** Adds one observation to a session. */
export function addToSession(agg: SessionAggregate, event: TravelerEvent): SessionAggregate {
  const sample = event.sample
  const first = agg.speedSamples === 0
  // The new observation arrived after everything in the session, so it wins timestamp ties.
  const takesType = event.timestampMs >= agg.typeTimestampMs
  return {
    sensorId: event.sensorId,
    travelerId: event.travelerId,
    startMs: Math.min(agg.startMs, event.timestampMs),
    endMs: Math.max(agg.endMs, event.timestampMs),
    observations: agg.observations + 1,
    speedSamples: agg.speedSamples + (sample === null ? 0 : 1),
    distanceM: sample === null ? agg.distanceM : agg.distanceM + sample.distanceM,
    speedMax: sample === null ? agg.speedMax : first ? sample.speedMps : Math.max(agg.speedMax, sample.speedMps),
    speedSum: sample === null ? agg.speedSum : agg.speedSum + sample.speedMps,
    travelerType: takesType ? event.travelerType : agg.travelerType,
    typeTimestampMs: takesType ? event.timestampMs : agg.typeTimestampMs,
    typeArrival: takesType ? event.arrival : agg.typeArrival
  }
}

/** Combines two sessions that an observation joins. */
export function mergeSessions(a: SessionAggregate, b: SessionAggregate): SessionAggregate {
  const typed = laterType(a, b)
  const named = a.observations > 0 ? a : b
  const maxes = [a, b].filter((s) => s.speedSamples > 0).map((s) => s.speedMax)
  return {
    sensorId: named.sensorId,
    travelerId: named.travelerId,
    startMs: Math.min(a.startMs, b.startMs),
    endMs: Math.max(a.endMs, b.endMs),
    observations: a.observations + b.observations,
    speedSamples: a.speedSamples + b.speedSamples,
    distanceM: a.distanceM + b.distanceM,
    speedMax: maxes.length === 0 ? 0 : Math.max(...maxes),
    speedSum: a.speedSum + b.speedSum,
    travelerType: typed.travelerType,
    typeTimestampMs: typed.typeTimestampMs,
    typeArrival: typed.typeArrival
  }
}

/** The contract's `TravelerSession` value of a session aggregate. */
export function toTravelerSession(agg: SessionAggregate): TravelerSession {
  const any = agg.speedSamples > 0
  return {
    sensor_id: agg.sensorId,
    traveler_id: agg.travelerId,
    traveler_type: agg.travelerType,
    first_seen: agg.startMs,
    last_seen: agg.endMs,
    observations: agg.observations,
    distance_m: agg.distanceM,
    speed_max: any ? agg.speedMax : null,
    speed_mean: any ? agg.speedSum / agg.speedSamples : null
  }
}

/** Options of the session aggregation. */
export interface SessionOptions {
  readonly storeName: string
  readonly windows: SessionWindows
  readonly retentionMs: number
  readonly inMemory?: boolean
}

/**
 * The session store: a window store keyed by `sensor_id|traveler_id` whose window start is the session
 * start, so one store entry is one output key (`sensor|traveler|session_start_ms`). Cached and logged;
 * sessions are dropped silently once their start is older than the retention.
 */
export function sessionStoreBuilder(options: SessionOptions): StoreBuilder<StateStore> {
  const supplierOptions = { retentionMs: options.retentionMs, windowSizeMs: options.windows.gapMs }
  const supplier =
    options.inMemory === true
      ? Stores.inMemoryWindowStore(options.storeName, supplierOptions)
      : Stores.persistentWindowStore(options.storeName, supplierOptions)
  return Stores.windowStoreBuilder(supplier, storeKeySerde, sessionAggregateSerde).withCachingEnabled() as StoreBuilder<StateStore>
}

/**
 * Session windows with Kafka Streams' semantics (KStreamSessionWindowAggregate): an observation at t
 * joins every session of its traveler with end >= t - gap and start <= t + gap (the gap is
 * inclusive); they merge into one session. It is late, dropped and counted, when the merged session
 * ends before stream time - grace. Sessions it replaced are deleted and their keys get tombstones.
 *
 * Why not the library's session store: it keys sessions by (key, start, end), but the contract's
 * output key has no end. A session growing at its end would then replace one store entry by another
 * under the same output key, and a write-back cache never reports the removal of an entry it never
 * flushed, so a key could keep a stale value (or lose its value to an out-of-order eviction). Keying
 * the store by session start makes store entries and output keys one to one, and the cache emits at
 * most one record per output key per commit.
 */
export function sessionProcessor(options: SessionOptions): ProcessorSupplier<string, TravelerEvent, Windowed<string>, Change<SessionAggregate>> {
  const { gapMs, graceMs } = options.windows
  return () => {
    let context: ProcessorContext<Windowed<string>, Change<SessionAggregate>>
    let store: WindowStore<string, SessionAggregate>
    let forwarder: TableForwarder<Windowed<string>, SessionAggregate>
    const windowed = (key: string, agg: SessionAggregate): Windowed<string> => ({ key, window: { startMs: agg.startMs, endMs: agg.endMs } })
    return {
      init(ctx) {
        context = ctx
        store = ctx.getStateStore(options.storeName)
        forwarder = new TableForwarder(store, ctx)
      },
      process(record) {
        const key = record.key
        const event = record.value
        const t = record.timestampMs
        const joined: SessionAggregate[] = []
        const iterator = store.fetch(key, 0, t + gapMs)
        try {
          for (const { value } of iterator) if (value.endMs >= t - gapMs) joined.push(value)
        } finally {
          iterator.close()
        }
        let startMs = t
        let endMs = t
        for (const session of joined) {
          startMs = Math.min(startMs, session.startMs)
          endMs = Math.max(endMs, session.endMs)
        }
        if (endMs < context.currentStreamTimeMs() - graceMs) {
          context.recordDropped(DropReason.LATE)
          return
        }
        let merged = emptySession()
        let replaced: SessionAggregate | null = null
        for (const session of joined) {
          merged = mergeSessions(merged, session)
          if (session.startMs === startMs) {
            replaced = session
          } else {
            store.put(key, null, session.startMs)
            forwarder.maybeForward(windowed(key, session), null, session, t, record.headers)
          }
        }
        const aggregate: SessionAggregate = { ...addToSession(merged, event), startMs, endMs }
        store.put(key, aggregate, startMs)
        forwarder.maybeForward(windowed(key, aggregate), aggregate, replaced, t, record.headers)
      }
    }
  }
}

/** Turns session changes into output records: key `sensor|traveler|session_start_ms`; deleted sessions become tombstones. */
export function sessionOutputProcessor(): ProcessorSupplier<Windowed<string>, Change<SessionAggregate>, string, TravelerSession | null> {
  return () => {
    let context: ProcessorContext<string, TravelerSession | null>
    return {
      init(ctx) {
        context = ctx
      },
      process(record) {
        const { newValue, oldValue } = record.value
        const named = newValue ?? oldValue
        if (named === null) return
        context.forward({
          key: sessionKey(named.sensorId, named.travelerId, named.startMs),
          value: newValue === null ? null : toTravelerSession(newValue),
          timestampMs: record.timestampMs,
          headers: {}
        })
      }
    }
  }
}
