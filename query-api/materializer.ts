/**
 * Turns the records of the traffic output topics into the query API's local state: window stats into
 * the series index, sessions into the session store; tombstones delete. Values are Avro (Confluent
 * wire format) read with the registry serde; a record whose key or value does not follow the
 * contract is refused (counted and logged), never half-applied. Each applied window change is
 * announced to live subscribers.
 *
 * Records of the commerce output topics go to the `CommerceMaterializer` given as option `commerce`:
 * the writer schemas of the whole batch (traffic and commerce) are looked up first, so a registry
 * failure applies nothing of it and the follower reads the same records again later.
 */
import { parseSessionKey, parseStatsKey, TRAFFIC_TOPICS, type SessionKey } from '../apps/traffic/index.ts'
import type { SchemaRegistryClient, TrafficWindowStats, TravelerSession, TravelerType } from '../schemas/index.ts'
import { AvroValueReader } from './avro-reader.ts'
import { WINDOW_SIZE_MS, WINDOW_STEP_MS, type Resolution, type SeriesIndex, type WindowStats } from './series-index.ts'
import type { SessionIndex, TravelerSessionView } from './session-index.ts'
import type { CommerceMaterializer } from './commerce-materializer.ts'
import { RecordRefused, RefusalCounter } from './refusals.ts'
import type { FollowedRecord, FollowerLogger } from './topic-follower.ts'

/** Names of the topics the API materializes. */
export interface TrafficTopics {
  readonly stats1m: string
  readonly stats5m: string
  readonly sessions: string
}

/** Default topic names of the contract. */
export const DEFAULT_TRAFFIC_TOPICS: TrafficTopics = { stats1m: TRAFFIC_TOPICS.stats1m, stats5m: TRAFFIC_TOPICS.stats5m, sessions: TRAFFIC_TOPICS.sessions }

/** One window that changed (`stats` null: deleted). */
export interface WindowChange {
  readonly resolution: Resolution
  readonly sensorId: string
  readonly travelerType: TravelerType
  readonly windowStart: number
  readonly stats: WindowStats | null
}

/** Counters of what was materialized. */
export interface MaterializerCounts {
  readonly windowsWritten: number
  readonly windowsDeleted: number
  readonly sessionsWritten: number
  readonly sessionsDeleted: number
  readonly refused: number
  /** Why the last refused record was refused (topic, partition, offset and reason). */
  readonly lastRefusal: string | null
}

/** Options of `Materializer`. */
export interface MaterializerOptions {
  topics: TrafficTopics
  registry: SchemaRegistryClient
  series: SeriesIndex
  sessions: SessionIndex
  logger?: FollowerLogger | undefined
  /** Counts refused records; pass the commerce materializer's counter to count both in one. Default a new one. */
  refusals?: RefusalCounter | undefined
  /** Applies the records of the commerce output topics (default: they are skipped like any other topic). */
  commerce?: CommerceMaterializer | undefined
}

/** Applies followed records to the indexes. */
export class Materializer {
  private readonly topics_: TrafficTopics
  private readonly series_: SeriesIndex
  private readonly sessions_: SessionIndex
  private readonly statsReader: AvroValueReader<TrafficWindowStats>
  private readonly sessionReader: AvroValueReader<TravelerSession>
  private readonly logger_: FollowerLogger | undefined
  private readonly refusals_: RefusalCounter
  private readonly commerce_: CommerceMaterializer | undefined
  private readonly listeners = new Set<(changes: readonly WindowChange[]) => void>()
  private readonly latestStart: Record<Resolution, number> = { '1m': Number.NEGATIVE_INFINITY, '5m': Number.NEGATIVE_INFINITY }
  private counts_ = { windowsWritten: 0, windowsDeleted: 0, sessionsWritten: 0, sessionsDeleted: 0 }

  constructor(options: MaterializerOptions) {
    this.topics_ = options.topics
    this.series_ = options.series
    this.sessions_ = options.sessions
    this.logger_ = options.logger
    this.refusals_ = options.refusals ?? new RefusalCounter(options.logger)
    this.commerce_ = options.commerce
    this.statsReader = AvroValueReader.of('runnel.traffic.TrafficWindowStats', options.registry)
    this.sessionReader = AvroValueReader.of('runnel.traffic.TravelerSession', options.registry)
  }

  /** What was applied; `refused` and `lastRefusal` cover every record of the shared refusal counter. */
  get counts(): MaterializerCounts {
    return { ...this.counts_, refused: this.refusals_.refused, lastRefusal: this.refusals_.lastRefusal }
  }

  /** The latest window start seen per resolution (the stream time of the outputs), epoch ms. */
  latestWindowStart(resolution: Resolution): number | null {
    const v = this.latestStart[resolution]
    return Number.isFinite(v) ? v : null
  }

  /** Calls `listener` with every batch of applied window changes; returns the unsubscribe function. */
  onWindowChanges(listener: (changes: readonly WindowChange[]) => void): () => void {
    this.listeners.add(listener)
    return () => this.listeners.delete(listener)
  }

  /** Applies records in order. Schema ids not seen yet are fetched from the registry first. */
  async apply(records: readonly FollowedRecord[]): Promise<void> {
    await Promise.all([this.resolveSchemas(records), this.commerce_?.resolveSchemas(records)])
    const changes: WindowChange[] = []
    const sessionWrites: Array<{ key: SessionKey; value: TravelerSessionView | null }> = []
    for (const record of records) {
      try {
        if (record.topic === this.topics_.sessions) sessionWrites.push(this.session(record))
        else {
          const resolution: Resolution | undefined = record.topic === this.topics_.stats1m ? '1m' : record.topic === this.topics_.stats5m ? '5m' : undefined
          if (resolution === undefined) continue
          const change = this.window(record, resolution)
          this.series_.put(resolution, change.sensorId, change.travelerType, change.windowStart, change.stats)
          if (change.stats === null) this.counts_.windowsDeleted++
          else {
            this.counts_.windowsWritten++
            if (change.windowStart > this.latestStart[resolution]) this.latestStart[resolution] = change.windowStart
          }
          changes.push(change)
        }
      } catch (err) {
        if (!(err instanceof RecordRefused)) throw err
        this.refusals_.refuse(record, err.message)
      }
    }
    this.commerce_?.applyResolved(records)
    if (sessionWrites.length > 0) {
      this.sessions_.apply(sessionWrites)
      for (const w of sessionWrites) {
        if (w.value === null) this.counts_.sessionsDeleted++
        else this.counts_.sessionsWritten++
      }
    }
    if (changes.length > 0) {
      for (const listener of this.listeners) {
        try {
          listener(changes)
        } catch (err) {
          this.logger_?.warn({ err: (err as Error).message }, 'query-api: a live listener failed')
        }
      }
    }
  }

  /** Drops windows (and sessions) older than `retentionMs` before the latest window start. */
  evictOlderThan(retentionMs: number): { windows: number; sessions: number } {
    let windows = 0
    for (const resolution of ['1m', '5m'] as const) {
      const latest = this.latestStart[resolution]
      if (Number.isFinite(latest)) windows += this.series_.deleteBefore(resolution, latest - retentionMs)
    }
    const latest = Math.max(this.latestStart['1m'], this.latestStart['5m'])
    const sessions = Number.isFinite(latest) ? this.sessions_.deleteStartedBefore(latest - retentionMs) : 0
    return { windows, sessions }
  }

  private async resolveSchemas(records: readonly FollowedRecord[]): Promise<void> {
    const pending = new Map<string, Promise<void>>()
    const topics = this.topics_
    for (const r of records) {
      if (r.topic !== topics.stats1m && r.topic !== topics.stats5m && r.topic !== topics.sessions) continue
      if (r.topic === topics.sessions) this.sessionReader.resolution(r.topic, r.value, 'session', pending)
      else this.statsReader.resolution(r.topic, r.value, 'stats', pending)
    }
    // A registry failure rejects here: the follower fetches the same records again later, nothing is lost.
    await Promise.all(pending.values())
  }

  private window(record: FollowedRecord, resolution: Resolution): WindowChange {
    const keyText = record.key?.toString('utf8')
    const key = keyText === undefined ? undefined : parseStatsKey(keyText)
    if (key === undefined) throw new RecordRefused(`key ${JSON.stringify(keyText ?? null)} is not "sensor_id|traveler_type|window_start_ms"`)
    if (key.windowStart % WINDOW_STEP_MS !== 0) throw new RecordRefused(`window start ${key.windowStart} is not on a minute boundary`)
    if (record.value === null) return { resolution, ...key, stats: null }
    const v = this.statsReader.decode(record.topic, record.value)
    if (v.sensor_id !== key.sensorId || v.traveler_type !== key.travelerType || v.window_start !== key.windowStart) {
      throw new RecordRefused(`value (${v.sensor_id}|${v.traveler_type}|${v.window_start}) does not match its key`)
    }
    if (v.window_end - v.window_start !== WINDOW_SIZE_MS[resolution]) {
      throw new RecordRefused(`window [${v.window_start}, ${v.window_end}) is not ${WINDOW_SIZE_MS[resolution] / 60_000} minute(s) long`)
    }
    for (const field of ['observations', 'travelers', 'speed_samples'] as const) {
      if (!Number.isSafeInteger(v[field]) || v[field] < 0) throw new RecordRefused(`${field} ${v[field]} is not a non-negative integer`)
    }
    const speeds = [v.speed_min, v.speed_max, v.speed_mean]
    const withSpeeds = v.speed_samples > 0
    if (speeds.some((s) => (s === null) === withSpeeds || (s !== null && !Number.isFinite(s)))) {
      throw new RecordRefused(`speeds (${speeds.join(', ')}) must be finite numbers exactly when speed_samples (${v.speed_samples}) > 0`)
    }
    return {
      resolution,
      ...key,
      stats: {
        observations: v.observations,
        travelers: v.travelers,
        speedSamples: v.speed_samples,
        speedMin: v.speed_min,
        speedMax: v.speed_max,
        speedMean: v.speed_mean
      }
    }
  }

  private session(record: FollowedRecord): { key: SessionKey; value: TravelerSessionView | null } {
    const keyText = record.key?.toString('utf8')
    const key = keyText === undefined ? undefined : parseSessionKey(keyText)
    if (key === undefined) throw new RecordRefused(`key ${JSON.stringify(keyText ?? null)} is not "sensor_id|traveler_id|session_start_ms"`)
    if (record.value === null) return { key, value: null }
    const v = this.sessionReader.decode(record.topic, record.value)
    if (v.sensor_id !== key.sensorId || v.traveler_id !== key.travelerId || v.first_seen !== key.sessionStart) {
      throw new RecordRefused(`value (${v.sensor_id}|${v.traveler_id}|${v.first_seen}) does not match its key`)
    }
    return {
      key,
      value: {
        sensorId: v.sensor_id,
        travelerId: v.traveler_id,
        travelerType: v.traveler_type,
        firstSeen: v.first_seen,
        lastSeen: v.last_seen,
        observations: v.observations,
        distanceM: v.distance_m,
        speedMax: v.speed_max,
        speedMean: v.speed_mean
      }
    }
  }
}
