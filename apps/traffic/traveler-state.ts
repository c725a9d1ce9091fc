/**
 * Per-traveler state (Processor API): turns observations into speed samples, as the contract defines
 * them, and tells the window aggregations whether a traveler is new to a window.
 *
 * State per `sensor_id|traveler_id` (store `traffic-travelers`): the last accepted observation
 * `(x, y, t)` and, per traveler type, the minutes in which the traveler was seen while a window
 * containing that minute can still change. Keeping those minutes here lets the 1-minute and 5-minute
 * aggregations count distinct travelers exactly without a store of their own: a traveler is new to a
 * window when none of its seen minutes lies in it.
 *
 * Expiry, in event time: the last accepted observation is ignored once the task's stream time is more
 * than 30 minutes past it (checked on read, so the result never depends on when cleanup runs), and
 * the entry is deleted once that holds and none of its minutes can matter to an open window. The
 * deletion runs on a stream-time punctuator over a time index (store `traffic-traveler-expiry`, keys
 * `<expiry minute, 10 digits>|<state key>`) so that it scans only entries due, never the whole store.
 */
import { DropReason, PunctuationType, type Processor, type ProcessorContext, type ProcessorSupplier, type StreamRecord } from '../../processors/index.ts'
import { SerdeError, TravelerTypeSymbols, type SensorObservation, type Serde, type TravelerType } from '../../schemas/index.ts'
import { Stores, type KeyValueStore, type StateStore, type StoreBuilder } from '../../state/index.ts'
import { FIVE_MINUTES_MS, MINUTE_MS, TRAVELER_STATE_TTL_MS, VISIT_GAP_MS } from './config.ts'
import { storeKeySerde } from '../shared/index.ts'

/** Store of the per-traveler state. */
export const TRAVELERS_STORE = 'traffic-travelers'
/** Time index of `traffic-travelers` by expiry minute. */
export const TRAVELER_EXPIRY_STORE = 'traffic-traveler-expiry'

/** One speed sample: the distance between two accepted observations and the speed over it. */
export interface SpeedSample {
  /** Metres. */
  readonly distanceM: number
  /** Metres per second. */
  readonly speedMps: number
}

/** What the traveler processor forwards for every observation (key: `sensor_id|traveler_id`). */
export interface TravelerEvent {
  readonly sensorId: string
  readonly travelerId: string
  readonly travelerType: TravelerType
  /** Event time of the observation, epoch ms. */
  readonly timestampMs: number
  /** Offset of the observation in its input partition: arrival order (session type tie-break). */
  readonly arrival: number
  /** The sample this observation produced, or null (first, out of order, duplicate, new visit). */
  readonly sample: SpeedSample | null
  /**
   * Starts (epoch ms) of the minutes in which this traveler, with this observation's type, was seen
   * before this observation, as far as windows containing them can still change.
   */
  readonly seenMinutes: readonly number[]
}

/** The stored state of one traveler. */
export interface TravelerState {
  /** Last accepted observation: metres, metres, epoch ms. */
  readonly x: number
  readonly y: number
  readonly t: number
  /** Per traveler type: minute starts (epoch ms, ascending) in which it was seen. */
  readonly seen: ReadonlyMap<TravelerType, readonly number[]>
}

/**
 * Binary layout of a `TravelerState` value:
 *   x f64 BE | y f64 BE | t f64 BE | u8 type count
 *   then per type: u8 index in TravelerTypeSymbols | u16 BE minute count | minute count x i32 BE minute index (start / 60,000)
 */
export const travelerStateSerde: Serde<TravelerState> = {
  serialize(_topic, state) {
    let size = 25
    for (const minutes of state.seen.values()) size += 3 + 4 * minutes.length
    // Unpooled: the record cache keeps this buffer (see storeKeySerde).
    const out = Buffer.allocUnsafeSlow(size)
    out.writeDoubleBE(state.x, 0)
    out.writeDoubleBE(state.y, 8)
    out.writeDoubleBE(state.t, 16)
    out.writeUInt8(state.seen.size, 24)
    let at = 25
    for (const [type, minutes] of state.seen) {
      out.writeUInt8(TravelerTypeSymbols.indexOf(type), at)
      out.writeUInt16BE(minutes.length, at + 1)
      at += 3
      for (const minute of minutes) {
        out.writeInt32BE(minute / MINUTE_MS, at)
        at += 4
      }
    }
    return out
  },
  deserialize(topic, data) {
    if (data.length < 25) throw new SerdeError('TRAFFIC_TRAVELER_STATE', `traveler state on ${topic} is ${data.length} bytes, expected at least 25`)
    const seen = new Map<TravelerType, number[]>()
    let at = 25
    for (let i = data.readUInt8(24); i > 0; i--) {
      const type = TravelerTypeSymbols[data.readUInt8(at)]
      const count = data.readUInt16BE(at + 1)
      at += 3
      if (type === undefined || at + 4 * count > data.length) throw new SerdeError('TRAFFIC_TRAVELER_STATE', `corrupt traveler state on ${topic}`)
      const minutes: number[] = new Array<number>(count)
      for (let j = 0; j < count; j++) minutes[j] = data.readInt32BE(at + 4 * j) * MINUTE_MS
      at += 4 * count
      seen.set(type, minutes)
    }
    return { x: data.readDoubleBE(0), y: data.readDoubleBE(8), t: data.readDoubleBE(16), seen }
  }
}

const INDEX_MARK = Buffer.from([1])
const INDEX_MINUTE_DIGITS = 10

/** A one-byte marker value for the time index (present = indexed). */
const indexValueSerde: Serde<Buffer> = {
  serialize: (_topic, value) => value,
  deserialize: (_topic, data) => data
}

function indexKey(minuteIndex: number, stateKey: string): string {
  return `${String(minuteIndex).padStart(INDEX_MINUTE_DIGITS, '0')}|${stateKey}`
}

/** Options of the traveler processor. */
export interface TravelerStateOptions {
  /** Grace of the time windows: seen minutes matter until the last window containing them closes. */
  readonly windowGraceMs: number
  /** Store type; the test driver swaps persistent stores for in-memory ones anyway. */
  readonly inMemory?: boolean
}

/**
 * When an entry can be deleted (epoch ms of stream time): its observation has expired and every
 * window containing one of its seen minutes (the latest ends 5 minutes after the minute starts) is
 * closed.
 */
export function travelerDeletableAtMs(state: TravelerState, windowGraceMs: number): number {
  let at = state.t + TRAVELER_STATE_TTL_MS + 1
  for (const minutes of state.seen.values()) {
    const latest = minutes[minutes.length - 1]
    if (latest !== undefined) at = Math.max(at, latest + FIVE_MINUTES_MS + windowGraceMs)
  }
  return at
}

/** The two stores of the traveler processor (logged and cached, as DSL stores are by default). */
export function travelerStoreBuilders(options: TravelerStateOptions): Array<StoreBuilder<StateStore>> {
  const supplier = (name: string) => (options.inMemory === true ? Stores.inMemoryKeyValueStore(name) : Stores.persistentKeyValueStore(name))
  return [
    Stores.keyValueStoreBuilder(supplier(TRAVELERS_STORE), storeKeySerde, travelerStateSerde).withCachingEnabled() as StoreBuilder<StateStore>,
    Stores.keyValueStoreBuilder(supplier(TRAVELER_EXPIRY_STORE), storeKeySerde, indexValueSerde).withCachingEnabled() as StoreBuilder<StateStore>
  ]
}

/** The traveler processor: input keyed by `sensor_id`, output keyed by `sensor_id|traveler_id`. */
export function travelerStateProcessor(options: TravelerStateOptions): ProcessorSupplier<string | null, SensorObservation | null, string, TravelerEvent> {
  const graceMs = options.windowGraceMs
  return () => new TravelerStateProcessor(graceMs)
}

class TravelerStateProcessor implements Processor<string | null, SensorObservation | null, string, TravelerEvent> {
  private readonly graceMs: number
  private context!: ProcessorContext<string, TravelerEvent>
  private store!: KeyValueStore<string, TravelerState>
  private index!: KeyValueStore<string, Buffer>

  constructor(graceMs: number) {
    this.graceMs = graceMs
  }

  init(context: ProcessorContext<string, TravelerEvent>): void {
    this.context = context
    this.store = context.getStateStore(TRAVELERS_STORE)
    this.index = context.getStateStore(TRAVELER_EXPIRY_STORE)
    context.schedule(MINUTE_MS, PunctuationType.STREAM_TIME, (streamTimeMs) => this.expire(streamTimeMs))
  }

  process(record: StreamRecord<string | null, SensorObservation | null>): void {
    const observation = record.value
    if (observation === null || observation === undefined) {
      this.context.recordDropped(DropReason.NULL_KEY_OR_VALUE)
      return
    }
    const now = this.context.currentStreamTimeMs()
    const t = record.timestampMs
    const { x, y } = observation
    const key = `${observation.sensor_id}|${observation.traveler_id}`
    const old = this.store.get(key)

    // The contract's speed-sample rules, against the last accepted observation if it has not expired.
    const last = old !== undefined && now - old.t <= TRAVELER_STATE_TTL_MS ? old : undefined
    let sample: SpeedSample | null = null
    let accepted = true
    if (last !== undefined) {
      if (t <= last.t) {
        accepted = false
      } else if (t - last.t <= VISIT_GAP_MS) {
        const distanceM = Math.hypot(x - last.x, y - last.y)
        sample = { distanceM, speedMps: distanceM / ((t - last.t) / 1000) }
      }
    }

    // Seen minutes: drop those no open window can contain any more, then add this one.
    let changed = accepted
    const seen = new Map<TravelerType, readonly number[]>()
    const horizon = now - FIVE_MINUTES_MS - this.graceMs
    for (const [type, minutes] of old?.seen ?? []) {
      const kept = minutes.filter((m) => m > horizon)
      if (kept.length !== minutes.length) changed = true
      if (kept.length > 0) seen.set(type, kept)
    }
    const type = observation.traveler_type
    const seenBefore = seen.get(type) ?? []
    const minute = t - (t % MINUTE_MS)
    if (minute > horizon && !seenBefore.includes(minute)) {
      seen.set(
        type,
        [...seenBefore, minute].sort((a, b) => a - b)
      )
      changed = true
    }

    if (changed) {
      const base = accepted || old === undefined ? { x, y, t } : old
      const state: TravelerState = { x: base.x, y: base.y, t: base.t, seen }
      this.store.put(key, state)
      const minuteIndex = Math.floor(travelerDeletableAtMs(state, this.graceMs) / MINUTE_MS)
      if (old === undefined || Math.floor(travelerDeletableAtMs(old, this.graceMs) / MINUTE_MS) !== minuteIndex) {
        this.index.put(indexKey(minuteIndex, key), INDEX_MARK)
      }
    }

    this.context.forward({
      key,
      value: {
        sensorId: observation.sensor_id,
        travelerId: observation.traveler_id,
        travelerType: type,
        timestampMs: t,
        arrival: this.context.recordMetadata()?.offset ?? -1,
        sample,
        seenMinutes: seenBefore
      },
      timestampMs: t,
      headers: record.headers
    })
  }

  /** Deletes the entries whose expiry minute has fully passed, reading only the index entries due. */
  private expire(streamTimeMs: number): void {
    const dueMinutes = Math.floor((streamTimeMs + 1) / MINUTE_MS) - 1
    const due: string[] = []
    const iterator = this.index.range(undefined, String(dueMinutes + 1).padStart(INDEX_MINUTE_DIGITS, '0'))
    try {
      for (const entry of iterator) due.push(entry.key)
    } finally {
      iterator.close()
    }
    for (const entryKey of due) {
      this.index.put(entryKey, null)
      const stateKey = entryKey.slice(INDEX_MINUTE_DIGITS + 1)
      const state = this.store.get(stateKey)
      // A stale index entry (the state moved to a later expiry minute since) is just dropped.
      if (state !== undefined && travelerDeletableAtMs(state, this.graceMs) <= streamTimeMs) this.store.put(stateKey, null)
    }
  }
}
