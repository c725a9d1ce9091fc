/**
 * Refused records: a followed record whose key or value breaks the contract is never half-applied;
 * it is counted, the last reason is kept for `system.health`, and the first few (then every 1000th)
 * are logged. One counter is shared by every materializer of an instance (traffic and commerce), so
 * `records.refused` in the health report covers all the topics it follows.
 */
import type { FollowedRecord, FollowerLogger } from './topic-follower.ts'

/** Thrown by a record's decoder when the record breaks the contract; its message is the reason. */
export class RecordRefused extends Error {
  override readonly name = 'RecordRefused'
}

/** Counts refused records and remembers the last reason. */
export class RefusalCounter {
  private readonly logger: FollowerLogger | undefined
  private refused_ = 0
  private lastRefusal_: string | null = null
  private logged = 0

  constructor(logger?: FollowerLogger) {
    this.logger = logger
  }

  /** Records refused so far. */
  get refused(): number {
    return this.refused_
  }

  /** Why the last refused record was refused (`topic-partition@offset: reason`), or null. */
  get lastRefusal(): string | null {
    return this.lastRefusal_
  }

  /** Counts `record` as refused for `reason`. */
  refuse(record: FollowedRecord, reason: string): void {
    this.refused_++
    this.lastRefusal_ = `${record.topic}-${record.partition}@${record.offset}: ${reason}`
    // The first few are logged one by one, then every 1000th, so a bad topic cannot flood the log.
    if (this.logged < 20 || this.refused_ % 1000 === 0) {
      this.logged++
      this.logger?.warn(
        { topic: record.topic, partition: record.partition, offset: record.offset, reason, refused: this.refused_ },
        'query-api: record refused'
      )
    }
  }
}
