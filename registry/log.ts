import type { LogEntry, LogRecord } from './records.ts'

/**
 * The registry's durable log: in production a compacted one-partition Kafka topic (kafka-log.ts);
 * in unit tests an in-memory log with the same ordering and compaction semantics.
 */
export interface RegistryLog {
  /**
   * Delivers every record from the start of the log, in order, then each new one as it is written,
   * to `onRecord`; `onError` reports a failure of the reader (the log is then unusable).
   */
  start(onRecord: (record: LogRecord) => void, onError: (error: Error) => void): Promise<void>
  /** Appends `entries` in order, as one batch; resolves with the offset of the last one. */
  append(entries: readonly LogEntry[]): Promise<bigint>
  close(): Promise<void>
}

/**
 * An in-memory log shared by any number of readers (registry instances in one process). `compact()`
 * does what Kafka's cleaner may do: keep only the latest record per key and drop tombstones, keeping
 * offsets, so tests can check that a replay of a compacted log gives the same state.
 */
export class MemoryLog {
  private readonly records_: LogRecord[] = []
  private readonly readers = new Set<(record: LogRecord) => void>()
  private nextOffset = 0n

  /** A `RegistryLog` view for one registry instance. */
  open(): RegistryLog {
    let reader: ((record: LogRecord) => void) | undefined
    return {
      start: async (onRecord) => {
        reader = onRecord
        for (const r of [...this.records_]) onRecord(r)
        this.readers.add(onRecord)
      },
      append: async (entries) => this.append(entries),
      close: async () => {
        if (reader !== undefined) this.readers.delete(reader)
      }
    }
  }

  /** Appends as a writer would; readers see the records on a later tick, as with a real broker. */
  append(entries: readonly LogEntry[]): bigint {
    const written = entries.map((e) => ({ key: e.key, value: e.value, offset: this.nextOffset++ }))
    this.records_.push(...written)
    setImmediate(() => {
      for (const r of written) for (const read of this.readers) read(r)
    })
    return this.nextOffset - 1n
  }

  /** Keeps the latest record of each key, drops tombstones (and what they deleted). */
  compact(): void {
    const latest = new Map<string, bigint>()
    for (const r of this.records_) latest.set(r.key?.toString('hex') ?? '', r.offset)
    const kept = this.records_.filter((r) => r.value !== null && latest.get(r.key?.toString('hex') ?? '') === r.offset)
    this.records_.splice(0, this.records_.length, ...kept)
  }

  /** The records currently stored, in order. */
  records(): readonly LogRecord[] {
    return this.records_
  }
}
