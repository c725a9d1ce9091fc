/**
 * The traffic application's settings: topic names, window grace, retention and partition counts,
 * with the defaults of the traffic contract (CONTRACTS.md, "Traffic analytics"), declared once by
 * `trafficSettingsSchema` (its worker variables and `--help` rows are read off it) and validated once.
 */
import { z } from 'zod'
import { AppConfigError, checkDistinctTopics, durationMsSchema, parseSettings, settingVariable, topicsSchema, windowedAppSettings } from '../shared/index.ts'
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

/**
 * Settings of the traffic application, each declared once: default (the contract's), check, doc and
 * the worker's variable. The store retention's default depends on the grace (`resolveTrafficSettings`).
 */
export const trafficSettingsSchema = z.object({
  topics: topicsSchema(
    TRAFFIC_TOPICS,
    {
      observations: 'TRAFFIC_OBSERVATIONS_TOPIC',
      stats1m: 'TRAFFIC_STATS_1M_TOPIC',
      stats5m: 'TRAFFIC_STATS_5M_TOPIC',
      sessions: 'TRAFFIC_SESSIONS_TOPIC'
    },
    { observations: 'input topic', stats1m: 'output topic', stats5m: 'output topic', sessions: 'output topic' }
  ).prefault({}),
  ...windowedAppSettings(
    'TRAFFIC',
    {
      graceMs: DEFAULT_GRACE_MS,
      outputRetentionMs: DEFAULT_OUTPUT_RETENTION_MS,
      storeRetentionMs: DEFAULT_STORE_RETENTION_MS,
      inputPartitions: DEFAULT_INPUT_PARTITIONS,
      outputPartitions: DEFAULT_OUTPUT_PARTITIONS
    },
    {
      graceMs: 'grace of the 1-minute and 5-minute windows, ms',
      storeRetentionMs: 'retention of window and session stores, ms; at least window size + grace',
      inputPartitions: 'partitions of the input topic when created',
      outputPartitions: 'partitions of each output topic when created'
    }
  ),
  sessionGraceMs: durationMsSchema(0).default(DEFAULT_GRACE_MS).meta(settingVariable('TRAFFIC_SESSION_GRACE_MS')).describe('grace of sessions, ms')
})

/** Settings of the traffic application; every field is optional and has the contract's default. */
export type TrafficSettings = z.input<typeof trafficSettingsSchema>

/** Settings with every default filled in. */
export type ResolvedTrafficSettings = Readonly<Omit<z.output<typeof trafficSettingsSchema>, 'storeRetentionMs'> & { storeRetentionMs: number }>

/** A bad traffic setting; `option` names it. */
export class TrafficConfigError extends AppConfigError {
  constructor(option: string, message: string) {
    super('TRAFFIC_BAD_OPTION', option, message)
  }
}

/** Fills in defaults and checks every setting, throwing a `TrafficConfigError` naming the bad one. */
export function resolveTrafficSettings(settings: TrafficSettings = {}): ResolvedTrafficSettings {
  const fail = (option: string, message: string): TrafficConfigError => new TrafficConfigError(option, message)
  const parsed = parseSettings(trafficSettingsSchema, settings, fail)
  const { topics, graceMs, sessionGraceMs } = parsed
  checkDistinctTopics(Object.values(topics), topics, fail)
  const storeRetentionMs = parsed.storeRetentionMs ?? Math.max(DEFAULT_STORE_RETENTION_MS, FIVE_MINUTES_MS + graceMs)
  if (storeRetentionMs < FIVE_MINUTES_MS + graceMs) {
    throw new TrafficConfigError(
      'storeRetentionMs',
      `must be at least the 5-minute window size + graceMs (${FIVE_MINUTES_MS + graceMs}), got ${storeRetentionMs}`
    )
  }
  if (storeRetentionMs < VISIT_GAP_MS + sessionGraceMs) {
    throw new TrafficConfigError(
      'storeRetentionMs',
      `must be at least the session gap + sessionGraceMs (${VISIT_GAP_MS + sessionGraceMs}), got ${storeRetentionMs}`
    )
  }
  return { ...parsed, storeRetentionMs }
}
