/**
 * The traffic contract's facts (CONTRACTS.md, "Traffic analytics"), in one place for the workers
 * that write the topics and the query API that reads them: topic names, and the record keys of the
 * output topics with their encoders and parsers. Keys are the identity the query API indexes by: a
 * tombstone carries nothing else.
 */
import { TravelerTypeSymbols, type TravelerType } from '../../schemas/index.ts'

/** Topic names of the traffic contract. */
export const TRAFFIC_TOPICS = {
  observations: 'traffic.observations',
  stats1m: 'traffic.stats.1m',
  stats5m: 'traffic.stats.5m',
  sessions: 'traffic.traveler-sessions'
} as const

/** Key of `traffic.stats.1m`/`traffic.stats.5m`: `${sensor_id}|${traveler_type}|${window_start_ms}`. */
export function statsKey(sensorId: string, travelerType: string, windowStartMs: number): string {
  return `${sensorId}|${travelerType}|${windowStartMs}`
}

/** Key of `traffic.traveler-sessions`: `${sensor_id}|${traveler_id}|${session_start_ms}`. */
export function sessionKey(sensorId: string, travelerId: string, sessionStartMs: number): string {
  return `${sensorId}|${travelerId}|${sessionStartMs}`
}

/** `${sensor_id}|${traveler_type}|${window_start_ms}` of traffic.stats.1m / traffic.stats.5m. */
export interface StatsKey {
  readonly sensorId: string
  readonly travelerType: TravelerType
  readonly windowStart: number
}

/** `${sensor_id}|${traveler_id}|${session_start_ms}` of traffic.traveler-sessions. */
export interface SessionKey {
  readonly sensorId: string
  readonly travelerId: string
  readonly sessionStart: number
}

const TYPES: readonly string[] = TravelerTypeSymbols

function parseMs(text: string): number | undefined {
  if (!/^-?\d{1,16}$/.test(text)) return undefined
  const ms = Number(text)
  return Number.isSafeInteger(ms) ? ms : undefined
}

/**
 * Parses a stats key from the right (the type is an enum symbol and the start a number, so a sensor
 * id containing `|` still parses). Undefined when the key does not follow the contract.
 */
export function parseStatsKey(key: string): StatsKey | undefined {
  const last = key.lastIndexOf('|')
  if (last <= 0) return undefined
  const middle = key.lastIndexOf('|', last - 1)
  if (middle <= 0) return undefined
  const windowStart = parseMs(key.slice(last + 1))
  const travelerType = key.slice(middle + 1, last)
  const sensorId = key.slice(0, middle)
  if (windowStart === undefined || !TYPES.includes(travelerType) || sensorId.includes('\u0000')) return undefined
  return { sensorId, travelerType: travelerType as TravelerType, windowStart }
}

/**
 * Parses a session key: the sensor id runs to the first `|`, the session start follows the last one,
 * the traveler id is what lies between (it may contain `|`; sensor ids may not). Undefined when the
 * key does not follow the contract. NUL characters are refused: the session index uses NUL as a
 * separator.
 */
export function parseSessionKey(key: string): SessionKey | undefined {
  const first = key.indexOf('|')
  const last = key.lastIndexOf('|')
  if (first <= 0 || last <= first + 1 || key.includes('\u0000')) return undefined
  const sessionStart = parseMs(key.slice(last + 1))
  if (sessionStart === undefined || sessionStart < 0) return undefined
  return { sensorId: key.slice(0, first), travelerId: key.slice(first + 1, last), sessionStart }
}
