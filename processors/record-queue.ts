/**
 * The buffered input of one topic-partition of a task, in offset order. The head is deserialized
 * lazily (the task needs its timestamp to choose the next record across queues).
 */
import type { RecordHeaders } from './api.ts'

/** A record as consumed from Kafka: bytes, offset and Kafka timestamp. */
export interface RawRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly offset: number
  readonly timestampMs: number
  readonly headers?: RecordHeaders
}

/** The deserialized head of a queue, with its extracted timestamp. */
export interface DecodedRecord {
  readonly raw: RawRecord
  readonly key: unknown
  readonly value: unknown
  readonly timestampMs: number
}

export class RecordQueue {
  readonly topic: string
  readonly partition: number
  readonly sourceName: string
  /** Highest extracted timestamp seen on this partition; -1 before any. */
  partitionTimeMs = -1
  /** Head after deserialization and timestamp extraction, cached until taken. */
  decodedHead: DecodedRecord | undefined
  /** Whether `resolve` was already awaited for the current head (a second failure is an error). */
  headResolveAttempted = false
  private items: RawRecord[] = []
  private headIndex = 0

  constructor(topic: string, partition: number, sourceName: string) {
    this.topic = topic
    this.partition = partition
    this.sourceName = sourceName
  }

  get size(): number {
    return this.items.length - this.headIndex
  }

  push(records: Iterable<RawRecord>): void {
    for (const record of records) this.items.push(record)
  }

  peek(): RawRecord | undefined {
    return this.items[this.headIndex]
  }

  /** Removes the head. */
  shift(): void {
    this.headIndex++
    this.decodedHead = undefined
    this.headResolveAttempted = false
    // Compact now and then so that a long-lived queue does not keep consumed records alive.
    if (this.headIndex > 1024 && this.headIndex * 2 > this.items.length) {
      this.items = this.items.slice(this.headIndex)
      this.headIndex = 0
    }
  }

  clear(): void {
    this.items = []
    this.headIndex = 0
    this.decodedHead = undefined
    this.headResolveAttempted = false
  }
}
