/**
 * The traffic application's settings: topic names, window grace, retention and partition counts,
 * with the defaults of the traffic contract (CONTRACTS.md, "Traffic analytics"), validated once.
 */
import { AppConfigError, settingChecks } from '../shared/index.ts'
import { TRAFFIC_TOPICS } from './contract.ts'


/** The four topics of one deployment (tests use unique names). */
export interface TrafficTopics {
  readonly observations: string
  readonly stats1m: string
  readonly stats5m: string
  readonly sessions: string
}

/** One minute, the size of `traffic.stats.1m` windows and the advance of both window kinds, ms. */
export const MINUTE_MS = 60_000
/** Size of the rolling `traffic.stats.5m` windows, ms. */
export const FIVE_MINUTES_MS = 5 * MINUTE_MS
/** Speed samples only join observations at most this far apart; sessions use it as their gap, ms. */
export const VISIT_GAP_MS = 30_000
/** A traveler's last accepted observation is forgotten after this much event time without a newer one, ms. */
export const TRAVELER_STATE_TTL_MS = 30 * MINUTE_MS
/** Default grace of windows and sessions, ms. */
export const DEFAULT_GRACE_MS = 30_000
/** Default retention of the output topics, ms (7 days). */
export const DEFAULT_OUTPUT_RETENTION_MS = 7 * 24 * 3_600_000
/** Default retention of the window and session stores, ms (1 day, as Kafka Streams' DSL). */
export const DEFAULT_STORE_RETENTION_MS = 24 * 3_600_000
/** Default partition count of `traffic.observations`. */
export const DEFAULT_INPUT_PARTITIONS = 6
/** Default partition count of the output topics. */
export const DEFAULT_OUTPUT_PARTITIONS = 6

/** Settings of the traffic application; every field is optional and has the contract's default. */
export interface TrafficSettings {
  readonly topics?: Partial<TrafficTopics>
  /** Grace of the 1-minute and 5-minute windows after their end, ms. Default 30,000. */
  readonly graceMs?: number
  /** Grace of traveler sessions after their end, ms. Default 30,000. */
  readonly sessionGraceMs?: number
  /** `retention.ms` of the compacted output topics. Default 7 days. */
  readonly outputRetentionMs?: number
  /** How long window and session stores keep windows, ms. Default 1 day; at least window size + grace. */
  readonly storeRetentionMs?: number
  /** Partitions of `traffic.observations` when the worker creates it. Default 6. */
  readonly inputPartitions?: number
  /** Partitions of each output topic when the worker creates it. Default 6. */
  readonly outputPartitions?: number
}

/** Settings with every default filled in. */
export interface ResolvedTrafficSettings {
  readonly topics: TrafficTopics
  readonly graceMs: number
  readonly sessionGraceMs: number
  readonly outputRetentionMs: number
  readonly storeRetentionMs: number
  readonly inputPartitions: number
  readonly outputPartitions: number
}

/** A bad traffic setting; `option` names it. */
export class TrafficConfigError extends AppConfigError {
  constructor(option: string, message: string) {
    super('TRAFFIC_BAD_OPTION', option, message)
    this.name = 'TrafficConfigError'
  }
}

const check = settingChecks((option, message) => new TrafficConfigError(option, message))

/** Fills in defaults and checks every setting, throwing a `TrafficConfigError` naming the bad one. */
export function resolveTrafficSettings(settings: TrafficSettings = {}): ResolvedTrafficSettings {
  if (typeof settings !== 'object' || settings === null) throw new TrafficConfigError('settings', 'must be an object')
  const topics: TrafficTopics = check.topics<keyof TrafficTopics>(TRAFFIC_TOPICS, settings.topics)
  check.distinct(Object.values(topics), topics)
  const graceMs = check.durationMs('graceMs', settings.graceMs, DEFAULT_GRACE_MS, 0)
  const sessionGraceMs = check.durationMs('sessionGraceMs', settings.sessionGraceMs, DEFAULT_GRACE_MS, 0)
  const storeRetentionMs = check.durationMs('storeRetentionMs', settings.storeRetentionMs, Math.max(DEFAULT_STORE_RETENTION_MS, FIVE_MINUTES_MS + graceMs), 1)
  if (storeRetentionMs < FIVE_MINUTES_MS + graceMs) {
    throw new TrafficConfigError('storeRetentionMs', `must be at least the 5-minute window size + graceMs (${FIVE_MINUTES_MS + graceMs}), got ${storeRetentionMs}`)
  }
  if (storeRetentionMs < VISIT_GAP_MS + sessionGraceMs) {
    throw new TrafficConfigError('storeRetentionMs', `must be at least the session gap + sessionGraceMs (${VISIT_GAP_MS + sessionGraceMs}), got ${storeRetentionMs}`)
  }
  return {
    topics,
    graceMs,
    sessionGraceMs,
    outputRetentionMs: check.durationMs('outputRetentionMs', settings.outputRetentionMs, DEFAULT_OUTPUT_RETENTION_MS, 1),
    storeRetentionMs,
    inputPartitions: check.partitions('inputPartitions', settings.inputPartitions, DEFAULT_INPUT_PARTITIONS),
    outputPartitions: check.partitions('outputPartitions', settings.outputPartitions, DEFAULT_OUTPUT_PARTITIONS)
  }
}
