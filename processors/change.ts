/**
 * Table updates and the serdes that carry them (and windowed keys) through repartition topics.
 */
import { SerdeError, type Serde } from '../schemas/index.ts'
import type { Windowed } from '../state/index.ts'

/**
 * A table update: the new value and the value it replaced. `null` means absent (a delete, or a key
 * seen for the first time). Subtractors of `KGroupedTable.aggregate` need the old value.
 */
export interface Change<V> {
  readonly newValue: V | null
  readonly oldValue: V | null
}

const HAS_NEW = 1
const HAS_OLD = 2

/**
 * Serde of `Change<V>` for repartition topics.
 * Layout: byte 0 = flags (bit 0: new value present, bit 1: old value present); when both are present,
 * bytes 1-4 are the length of the new value (uint32 BE), then the new value, then the old value;
 * when one is present, the rest is that value.
 */
export function changeSerde<V>(inner: Serde<V>): Serde<Change<V>> {
  return {
    serialize(topic, change) {
      const newBytes = change.newValue === null ? null : inner.serialize(topic, change.newValue)
      const oldBytes = change.oldValue === null ? null : inner.serialize(topic, change.oldValue)
      const flags = (newBytes ? HAS_NEW : 0) | (oldBytes ? HAS_OLD : 0)
      if (newBytes && oldBytes) {
        const header = Buffer.allocUnsafe(5)
        header.writeUInt8(flags, 0)
        header.writeUInt32BE(newBytes.length, 1)
        return Buffer.concat([header, newBytes, oldBytes])
      }
      return Buffer.concat([Buffer.from([flags]), newBytes ?? oldBytes ?? Buffer.alloc(0)])
    },
    deserialize(topic, data) {
      if (data.length < 1) throw new SerdeError('SERDE_CHANGE', `empty change record on topic ${topic}`)
      const flags = data.readUInt8(0)
      if (flags === (HAS_NEW | HAS_OLD)) {
        if (data.length < 5) throw new SerdeError('SERDE_CHANGE', `truncated change record on topic ${topic}`)
        const newLength = data.readUInt32BE(1)
        return {
          newValue: inner.deserialize(topic, data.subarray(5, 5 + newLength)),
          oldValue: inner.deserialize(topic, data.subarray(5 + newLength))
        }
      }
      const body = data.subarray(1)
      if (flags === HAS_NEW) return { newValue: inner.deserialize(topic, body), oldValue: null }
      if (flags === HAS_OLD) return { newValue: null, oldValue: inner.deserialize(topic, body) }
      if (flags === 0) return { newValue: null, oldValue: null }
      throw new SerdeError('SERDE_CHANGE', `unknown change flags ${flags} on topic ${topic}`)
    }
  }
}

/**
 * Serde of windowed keys (`Windowed<K>`), for writing windowed results to topics.
 * Layout: the inner key bytes, then window start (int64 BE), then window end (int64 BE).
 */
export function windowedSerde<K>(inner: Serde<K>): Serde<Windowed<K>> {
  return {
    serialize(topic, windowed) {
      const keyBytes = inner.serialize(topic, windowed.key)
      const out = Buffer.allocUnsafe(keyBytes.length + 16)
      keyBytes.copy(out, 0)
      out.writeBigInt64BE(BigInt(windowed.window.startMs), keyBytes.length)
      out.writeBigInt64BE(BigInt(windowed.window.endMs), keyBytes.length + 8)
      return out
    },
    deserialize(topic, data) {
      if (data.length < 16) throw new SerdeError('SERDE_WINDOWED', `windowed key shorter than 16 bytes on topic ${topic}`)
      const keyLength = data.length - 16
      return {
        key: inner.deserialize(topic, data.subarray(0, keyLength)),
        window: {
          startMs: Number(data.readBigInt64BE(keyLength)),
          endMs: Number(data.readBigInt64BE(keyLength + 8))
        }
      }
    }
  }
}
