/**
 * Turns the record batches of one fetched partition into records, keeping
 * only committed data: under read_committed the broker returns aborted transactional batches too,
 * with a list of aborted transactions, and the client must drop them. @platformatic/kafka's own
 * filter only handles transactions whose abort marker is in the same response, so every reader
 * applies Kafka's consumer algorithm across responses: a transactional batch of a producer with an
 * aborted transaction starting at or before it is skipped until that producer's next control batch.
 */
import type { RecordsBatch } from '@platformatic/kafka'

/** One committed record of a partition, as every reader of the project hands it on. */
export interface ConsumedRecord {
  readonly key: Buffer | null
  readonly value: Buffer | null
  readonly offset: number
  readonly timestampMs: number
  /** Headers by name (a header without a name or value is left out); absent when the record has none. */
  readonly headers?: Readonly<Record<string, Buffer>>
}

const IS_TRANSACTIONAL = 1 << 4
const IS_CONTROL = 1 << 5
const LOG_APPEND_TIME = 1 << 3

/** An aborted transaction as the fetch response lists it. */
export interface AbortedTransaction {
  readonly producerId: bigint
  readonly firstOffset: bigint
}

export interface DecodedBatches {
  readonly records: ConsumedRecord[]
  /** The offset after the last batch read (the next fetch position); `from` when nothing was read. */
  readonly next: number
  /** Leader epoch of the last batch read (-1 when none). */
  readonly leaderEpoch: number
}

/**
 * Records of `batches` at or after offset `from`. `abortedProducers` carries the producers inside
 * an aborted transaction from one response to the next (one set per partition, owned by the caller).
 */
export function decodeBatches(
  batches: readonly RecordsBatch[],
  from: number,
  abortedTransactions: readonly AbortedTransaction[] | undefined,
  abortedProducers: Set<bigint>
): DecodedBatches {
  const records: ConsumedRecord[] = []
  let next = from
  let leaderEpoch = -1
  const aborted =
    abortedTransactions && abortedTransactions.length > 0
      ? [...abortedTransactions].sort((a, b) => (a.firstOffset < b.firstOffset ? -1 : a.firstOffset > b.firstOffset ? 1 : 0))
      : undefined
  let a = 0
  for (const batch of batches) {
    if (aborted) {
      while (a < aborted.length && (aborted[a] as AbortedTransaction).firstOffset <= batch.firstOffset) {
        abortedProducers.add((aborted[a] as AbortedTransaction).producerId)
        a++
      }
    }
    const base = Number(batch.firstOffset)
    const last = base + batch.lastOffsetDelta
    if (last < from) continue
    next = last + 1
    leaderEpoch = batch.partitionLeaderEpoch
    if ((batch.attributes & IS_CONTROL) !== 0) {
      abortedProducers.delete(batch.producerId)
      continue
    }
    if ((batch.attributes & IS_TRANSACTIONAL) !== 0 && abortedProducers.has(batch.producerId)) continue
    const logAppendTime = (batch.attributes & LOG_APPEND_TIME) !== 0
    const firstTimestamp = Number(batch.firstTimestamp)
    const maxTimestamp = Number(batch.maxTimestamp)
    for (const r of batch.records) {
      const offset = base + r.offsetDelta
      if (offset < from) continue
      let headers: Record<string, Buffer> | undefined
      if (r.headers.length > 0) {
        headers = {}
        for (const [name, value] of r.headers) {
          if (name !== null && value !== null) headers[name.toString('utf8')] = value
        }
      }
      records.push(
        headers === undefined
          ? { key: r.key ?? null, value: r.value ?? null, offset, timestampMs: logAppendTime ? maxTimestamp : firstTimestamp + Number(r.timestampDelta) }
          : {
              key: r.key ?? null,
              value: r.value ?? null,
              offset,
              timestampMs: logAppendTime ? maxTimestamp : firstTimestamp + Number(r.timestampDelta),
              headers
            }
      )
    }
  }
  return { records, next, leaderEpoch }
}
