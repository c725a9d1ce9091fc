/**
 * `KTable.suppress` (Kafka Streams' KTableSuppressProcessor).
 * - untilWindowCloses: holds each windowed key's latest update and emits it once, when stream time
 *   >= window end + grace (the final result of the window).
 * - untilTimeLimit: emits a key's latest update once stream time >= its first buffered time + limit.
 * The emitted change carries the value that preceded the first buffered update as `oldValue`.
 *
 * The buffer is fault tolerant as Kafka Streams' (InMemoryTimeOrderedKeyValueBuffer): it is backed by
 * a key-value store (`storeName`, change-logged by the DSL) that every buffered update and every
 * emission writes through. On task init the processor rebuilds its in-memory index from the store,
 * which the runtime has restored from the changelog, so a restarted task emits what was buffered,
 * once. Without `storeName` the buffer lives in memory only.
 */
import { SerdeError, type Serde } from '../../schemas/index.ts'
import type { KeyValueStore, Windowed } from '../../state/index.ts'
import type { ProcessorContext, ProcessorSupplier, RecordHeaders } from '../api.ts'
import type { Change } from '../change.ts'
import { decodeHeaders, encodeHeaders, lengthPrefixed, readLengthPrefixed } from './record-codec.ts'

/** One buffered update of a key, as the buffer store holds it. */
export interface SuppressBufferEntry<V> {
  readonly newValue: V | null
  /** The value before the first buffered update (emitted as `oldValue`). */
  readonly oldValue: V | null
  /** Timestamp of the latest update (the emitted record's timestamp). */
  readonly timestampMs: number
  /** When the entry is due: `bufferTimeMs + duration <= stream time`. */
  readonly bufferTimeMs: number
  readonly headers: RecordHeaders
  /** Arrival order of the key's first update: entries due at the same time are emitted in it. */
  readonly seq: number
}

const HAS_NEW = 1
const HAS_OLD = 2

/**
 * Serde of buffer entries (the buffer store's values and changelog values).
 * Layout: flags (uint8; bit 0 new value present, bit 1 old value present), buffer time (int64 BE),
 * timestamp (int64 BE), sequence (int64 BE), headers (see `encodeHeaders`), then the new value and
 * the old value when present, each as uint32 BE length + the value serde's bytes.
 */
export function suppressBufferSerde<V>(valueSerde: Serde<V>): Serde<SuppressBufferEntry<V>> {
  const serde: Serde<SuppressBufferEntry<V>> = {
    serialize(topic, entry) {
      const head = Buffer.allocUnsafe(25)
      head.writeUInt8((entry.newValue !== null ? HAS_NEW : 0) | (entry.oldValue !== null ? HAS_OLD : 0), 0)
      head.writeBigInt64BE(BigInt(entry.bufferTimeMs), 1)
      head.writeBigInt64BE(BigInt(entry.timestampMs), 9)
      head.writeBigInt64BE(BigInt(entry.seq), 17)
      const parts = [head, encodeHeaders(entry.headers)]
      if (entry.newValue !== null) parts.push(lengthPrefixed(valueSerde.serialize(topic, entry.newValue)))
      if (entry.oldValue !== null) parts.push(lengthPrefixed(valueSerde.serialize(topic, entry.oldValue)))
      return Buffer.concat(parts)
    },
    deserialize(topic, data) {
      const what = `suppress buffer entry on topic ${topic}`
      if (data.length < 25) throw new SerdeError('SERDE_SUPPRESS_BUFFER', `truncated ${what}`)
      const flags = data.readUInt8(0)
      const bufferTimeMs = Number(data.readBigInt64BE(1))
      const timestampMs = Number(data.readBigInt64BE(9))
      const seq = Number(data.readBigInt64BE(17))
      const decoded = decodeHeaders(data, 25, what)
      const headers = decoded.headers
      let offset = decoded.offset
      let newValue: V | null = null
      let oldValue: V | null = null
      if ((flags & HAS_NEW) !== 0) {
        const block = readLengthPrefixed(data, offset, what)
        newValue = valueSerde.deserialize(topic, block.bytes)
        offset = block.offset
      }
      if ((flags & HAS_OLD) !== 0) oldValue = valueSerde.deserialize(topic, readLengthPrefixed(data, offset, what).bytes)
      return { newValue, oldValue, timestampMs, bufferTimeMs, headers, seq }
    }
  }
  if (valueSerde.configure) serde.configure = (topic, isKey) => (valueSerde.configure as NonNullable<Serde<V>['configure']>)(topic, isKey)
  return serde
}

interface Buffered<K, V> {
  readonly key: K
  entry: SuppressBufferEntry<V>
}

export function suppressProcessor<K, V>(options: {
  /** Identity of a key in the buffer (e.g. hex of its serialized bytes). */
  keyId: (key: K) => string
  /** When an entry is due: `bufferTime + durationMs <= stream time`. */
  bufferTimeMs: (key: K, timestampMs: number) => number
  durationMs: number
  /** The key-value store (values: `suppressBufferSerde`) backing the buffer; omitted: memory only. */
  storeName?: string
}): ProcessorSupplier<K, Change<V>, K, Change<V>> {
  return () => {
    let context: ProcessorContext<K, Change<V>>
    let store: KeyValueStore<K, SuppressBufferEntry<V>> | undefined
    const buffer = new Map<string, Buffered<K, V>>()
    let seq = 0
    let minBufferTimeMs = Number.POSITIVE_INFINITY
    const evict = (): void => {
      const expiryMs = context.currentStreamTimeMs() - options.durationMs
      if (minBufferTimeMs > expiryMs) return
      const due: Array<[string, Buffered<K, V>]> = []
      minBufferTimeMs = Number.POSITIVE_INFINITY
      for (const item of buffer) {
        if (item[1].entry.bufferTimeMs <= expiryMs) due.push(item)
        else minBufferTimeMs = Math.min(minBufferTimeMs, item[1].entry.bufferTimeMs)
      }
      due.sort((a, b) => a[1].entry.bufferTimeMs - b[1].entry.bufferTimeMs || a[1].entry.seq - b[1].entry.seq)
      for (const [id, { key, entry }] of due) {
        buffer.delete(id)
        store?.put(key, null)
        context.forward({
          key,
          value: { newValue: entry.newValue, oldValue: entry.oldValue },
          timestampMs: entry.timestampMs,
          headers: entry.headers
        })
      }
    }
    return {
      init(ctx) {
        context = ctx
        if (options.storeName === undefined) return
        const restored = ctx.getStateStore<KeyValueStore<K, SuppressBufferEntry<V>>>(options.storeName)
        store = restored
        // The store was restored from its changelog before processors init: rebuild the index.
        const iterator = restored.all()
        try {
          for (const { key, value } of iterator) {
            buffer.set(options.keyId(key), { key, entry: value })
            seq = Math.max(seq, value.seq + 1)
            minBufferTimeMs = Math.min(minBufferTimeMs, value.bufferTimeMs)
          }
        } finally {
          iterator.close()
        }
      },
      process(record) {
        const id = options.keyId(record.key)
        const existing = buffer.get(id)
        let item: Buffered<K, V>
        if (existing) {
          existing.entry = { ...existing.entry, newValue: record.value.newValue, timestampMs: record.timestampMs, headers: record.headers }
          item = existing
        } else {
          const bufferTimeMs = options.bufferTimeMs(record.key, record.timestampMs)
          item = {
            key: record.key,
            entry: {
              newValue: record.value.newValue,
              oldValue: record.value.oldValue,
              timestampMs: record.timestampMs,
              bufferTimeMs,
              headers: record.headers,
              seq: seq++
            }
          }
          buffer.set(id, item)
          minBufferTimeMs = Math.min(minBufferTimeMs, bufferTimeMs)
        }
        store?.put(item.key, item.entry)
        evict()
      }
    }
  }
}

/** Buffer time of a windowed key for `untilWindowCloses`: the window end. */
export function windowEndBufferTime<K>(key: Windowed<K>): number {
  return key.window.endMs
}
