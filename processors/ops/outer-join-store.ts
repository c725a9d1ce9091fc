/**
 * The shared outer-join store of a left/outer stream-stream join (Kafka Streams' KIP-633
 * "outer shared join store"): records that found no partner yet, kept until their join window
 * closes. It is a key-value store of the task, written by both sides of the join and change-logged,
 * so that a restarted task still emits (once) the delayed `joiner(v, null)` results.
 */
import { SerdeError, type Serde } from '../../schemas/index.ts'
import type { KeyValueStore } from '../../state/index.ts'
import type { RecordHeaders } from '../api.ts'
import { decodeHeaders, encodeHeaders, lengthPrefixed, readLengthPrefixed } from './record-codec.ts'

export type JoinSide = 'left' | 'right'

/** The unmatched records of one side with one key and timestamp, in arrival order. */
export interface OuterJoinRecords {
  readonly side: JoinSide
  readonly records: ReadonlyArray<{ readonly value: unknown; readonly headers: RecordHeaders }>
}

const LEFT = 0
const RIGHT = 1

/**
 * Key of the outer-join store. Layout: record timestamp (int64 BE), side (uint8: 0 left, 1 right),
 * then the serialized record key. Byte order is timestamp order, so the records whose window closed
 * first come first in a scan.
 */
export function outerJoinKey(timestampMs: number, side: JoinSide, keyBytes: Buffer): Buffer {
  const out = Buffer.allocUnsafe(9 + keyBytes.length)
  out.writeBigInt64BE(BigInt(timestampMs), 0)
  out.writeUInt8(side === 'left' ? LEFT : RIGHT, 8)
  keyBytes.copy(out, 9)
  return out
}

/** Reads a key written by `outerJoinKey`. */
export function parseOuterJoinKey(data: Buffer): { timestampMs: number; side: JoinSide; keyBytes: Buffer } {
  if (data.length < 9) throw new SerdeError('SERDE_OUTER_JOIN_KEY', `outer-join store key shorter than 9 bytes`)
  return {
    timestampMs: Number(data.readBigInt64BE(0)),
    side: data.readUInt8(8) === LEFT ? 'left' : 'right',
    keyBytes: data.subarray(9)
  }
}

/**
 * Serde of `OuterJoinRecords` (values of the outer-join store and its changelog).
 * Layout: side (uint8: 0 left, 1 right), record count (uint32 BE), then per record its headers
 * (see `encodeHeaders`) and its value as uint32 BE length + the side's value serde bytes (serialized
 * for topic `<topic>-left` or `<topic>-right`).
 */
export function outerJoinRecordsSerde(leftSerde: Serde<unknown>, rightSerde: Serde<unknown>): Serde<OuterJoinRecords> {
  // Each side's values are (de)serialized for `<topic>-left` / `<topic>-right`, so that registry-backed
  // serdes keep the two value schemas under separate subjects of the one changelog.
  const sideTopic = (topic: string, side: JoinSide): string => `${topic}-${side}`
  return {
    async configure(topic, isKey) {
      await leftSerde.configure?.(sideTopic(topic, 'left'), isKey)
      await rightSerde.configure?.(sideTopic(topic, 'right'), isKey)
    },
    serialize(topic, entry) {
      const serde = entry.side === 'left' ? leftSerde : rightSerde
      topic = sideTopic(topic, entry.side)
      const head = Buffer.allocUnsafe(5)
      head.writeUInt8(entry.side === 'left' ? LEFT : RIGHT, 0)
      head.writeUInt32BE(entry.records.length, 1)
      const parts: Buffer[] = [head]
      for (const record of entry.records) parts.push(encodeHeaders(record.headers), lengthPrefixed(serde.serialize(topic, record.value)))
      return Buffer.concat(parts)
    },
    deserialize(topic, data) {
      const what = `outer-join record list on topic ${topic}`
      if (data.length < 5) throw new SerdeError('SERDE_OUTER_JOIN_VALUE', `truncated ${what}`)
      const side: JoinSide = data.readUInt8(0) === LEFT ? 'left' : 'right'
      const serde = side === 'left' ? leftSerde : rightSerde
      topic = sideTopic(topic, side)
      const count = data.readUInt32BE(1)
      let offset = 5
      const records: Array<{ value: unknown; headers: RecordHeaders }> = []
      for (let i = 0; i < count; i++) {
        const h = decodeHeaders(data, offset, what)
        const block = readLengthPrefixed(data, h.offset, what)
        records.push({ headers: h.headers, value: serde.deserialize(topic, block.bytes) })
        offset = block.offset
      }
      return { side, records }
    }
  }
}

/** The typed store the join processors use. */
export type OuterJoinStore = KeyValueStore<Buffer, OuterJoinRecords>
