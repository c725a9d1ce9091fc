/**
 * A reference implementation of the traffic contract, written as plain loops over the input and
 * sharing no code with the topology: it gives the expected final value per key of
 * `traffic.stats.1m`, `traffic.stats.5m` and `traffic.traveler-sessions`, and how many records the
 * windows drop as late.
 *
 * Definitions applied (CONTRACTS.md, "Traffic analytics"):
 * - stream time is per input partition (one task per partition of `traffic.observations`): the highest
 *   event time taken so far from that partition, in the order the partition delivers records;
 * - speed samples per (sensor, traveler) against the last accepted observation, which is forgotten
 *   once stream time is more than 30 minutes past it;
 * - a record is late for a time window when window end + grace <= stream time, and is then left out
 *   of that window only; window values are computed at the end from the records each window kept
 *   (distinct travelers as a set of ids);
 * - sessions per (sensor, traveler): a record joins every session it is within 30 s of (inclusive);
 *   it is late, and changes nothing, when the resulting session ends before stream time - grace;
 *   sessions it joins are replaced by one (their keys are deleted).
 */
import { partitionForKey } from '../../processors/index.ts'
import type { SensorObservation, TrafficWindowStats, TravelerSession, TravelerType } from '../../schemas/index.ts'
import type { GeneratedRecord } from './generator.ts'

/** Options of the reference: the partition count of the input and the graces, ms. */
export interface TrafficReferenceOptions {
  /** Partitions of `traffic.observations` (records are placed by Kafka's murmur2 of the key). Default 6. */
  readonly partitions?: number
  /** Grace of the 1-minute and 5-minute windows, ms. Default 30,000. */
  readonly graceMs?: number
  /** Grace of sessions, ms. Default 30,000. */
  readonly sessionGraceMs?: number
}

/** The expected outputs: the latest value per key, and late drops (per closed window for the stats). */
export interface TrafficReferenceResult {
  readonly stats1m: Map<string, TrafficWindowStats>
  readonly stats5m: Map<string, TrafficWindowStats>
  readonly sessions: Map<string, TravelerSession>
  readonly lateDrops: { stats1m: number; stats5m: number; sessions: number }
  /** Valid observations processed, per partition. */
  readonly observationsByPartition: number[]
}

const SECOND = 1000
const MINUTE = 60 * SECOND
const GAP = 30 * SECOND
const STATE_TTL = 30 * MINUTE

interface Member {
  readonly obs: SensorObservation
  /** Position in its partition: the order of arrival. */
  readonly arrival: number
  readonly distance: number | null
  readonly speed: number | null
}

interface WindowCell {
  readonly sensor: string
  readonly type: TravelerType
  readonly start: number
  readonly end: number
  readonly members: Member[]
}

interface Session {
  readonly start: number
  readonly end: number
  readonly members: Member[]
}

/** Runs the contract's definitions over `records` (in send order; malformed records are skipped). */
export function referenceTrafficOutputs(
  records: ReadonlyArray<GeneratedRecord | SensorObservation>,
  options: TrafficReferenceOptions = {}
): TrafficReferenceResult {
  const partitions = options.partitions ?? 6
  const grace = options.graceMs ?? 30 * SECOND
  const sessionGrace = options.sessionGraceMs ?? 30 * SECOND

  // What each partition delivers, in order.
  const byPartition: SensorObservation[][] = Array.from({ length: partitions }, () => [])
  for (const record of records) {
    let obs: SensorObservation
    let key: string
    if ('kind' in record) {
      if (record.kind !== 'observation') continue
      obs = record.value
      key = record.key
    } else {
      obs = record
      key = record.sensor_id
    }
    const partition = partitionForKey(Buffer.from(key, 'utf8'), partitions)
    ;(byPartition[partition] as SensorObservation[]).push(obs)
  }

  const cells1m = new Map<string, WindowCell>()
  const cells5m = new Map<string, WindowCell>()
  const liveSessions = new Map<string, Session[]>()
  const lateDrops = { stats1m: 0, stats5m: 0, sessions: 0 }

  for (const delivered of byPartition) {
    let streamTime = -1
    const lastAccepted = new Map<string, { x: number; y: number; t: number }>()
    delivered.forEach((obs, arrival) => {
      const t = obs.timestamp
      if (t > streamTime) streamTime = t
      const traveler = `${obs.sensor_id}|${obs.traveler_id}`

      // Speed sample.
      let last = lastAccepted.get(traveler)
      if (last !== undefined && streamTime - last.t > STATE_TTL) last = undefined
      let distance: number | null = null
      let speed: number | null = null
      if (last === undefined) {
        lastAccepted.set(traveler, { x: obs.x, y: obs.y, t })
      } else if (t <= last.t) {
        // Out of order or duplicate: nothing changes.
      } else if (t - last.t > GAP) {
        lastAccepted.set(traveler, { x: obs.x, y: obs.y, t })
      } else {
        distance = Math.sqrt((obs.x - last.x) ** 2 + (obs.y - last.y) ** 2)
        speed = distance / ((t - last.t) / SECOND)
        lastAccepted.set(traveler, { x: obs.x, y: obs.y, t })
      }
      const member: Member = { obs, arrival, distance, speed }

      // Windows: 1-minute tumbling, 5-minute hopping by 1 minute, all aligned to the epoch.
      const minute = Math.floor(t / MINUTE) * MINUTE
      for (const [cells, size, kind] of [
        [cells1m, MINUTE, 'stats1m'],
        [cells5m, 5 * MINUTE, 'stats5m']
      ] as const) {
        for (let start = minute - size + MINUTE; start <= minute; start += MINUTE) {
          if (start < 0) continue
          const end = start + size
          if (end + grace <= streamTime) {
            lateDrops[kind]++
            continue
          }
          const cellKey = `${obs.sensor_id}|${obs.traveler_type}|${start}`
          let cell = cells.get(cellKey)
          if (cell === undefined) {
            cell = { sensor: obs.sensor_id, type: obs.traveler_type, start, end, members: [] }
            cells.set(cellKey, cell)
          }
          cell.members.push(member)
        }
      }

      // Sessions.
      const sessions = liveSessions.get(traveler) ?? []
      const joined = sessions.filter((s) => s.end >= t - GAP && s.start <= t + GAP)
      const start = Math.min(t, ...joined.map((s) => s.start))
      const end = Math.max(t, ...joined.map((s) => s.end))
      if (end < streamTime - sessionGrace) {
        lateDrops.sessions++
        return
      }
      const kept = sessions.filter((s) => !joined.includes(s))
      kept.push({ start, end, members: [...joined.flatMap((s) => s.members), member] })
      liveSessions.set(traveler, kept)
    })
  }

  const statsOf = (cells: Map<string, WindowCell>): Map<string, TrafficWindowStats> => {
    const out = new Map<string, TrafficWindowStats>()
    for (const [key, cell] of cells) {
      const speeds = cell.members.flatMap((m) => (m.speed === null ? [] : [m.speed]))
      out.set(key, {
        sensor_id: cell.sensor,
        traveler_type: cell.type,
        window_start: cell.start,
        window_end: cell.end,
        observations: cell.members.length,
        travelers: new Set(cell.members.map((m) => m.obs.traveler_id)).size,
        speed_samples: speeds.length,
        speed_min: speeds.length === 0 ? null : Math.min(...speeds),
        speed_max: speeds.length === 0 ? null : Math.max(...speeds),
        speed_mean: speeds.length === 0 ? null : speeds.reduce((a, b) => a + b, 0) / speeds.length
      })
    }
    return out
  }

  const sessionsOut = new Map<string, TravelerSession>()
  for (const sessions of liveSessions.values()) {
    for (const session of sessions) {
      const speeds = session.members.flatMap((m) => (m.speed === null ? [] : [m.speed]))
      let latest = session.members[0] as Member
      for (const m of session.members) {
        if (m.obs.timestamp > latest.obs.timestamp || (m.obs.timestamp === latest.obs.timestamp && m.arrival > latest.arrival)) latest = m
      }
      const obs = latest.obs
      sessionsOut.set(`${obs.sensor_id}|${obs.traveler_id}|${session.start}`, {
        sensor_id: obs.sensor_id,
        traveler_id: obs.traveler_id,
        traveler_type: obs.traveler_type,
        first_seen: session.start,
        last_seen: session.end,
        observations: session.members.length,
        distance_m: session.members.reduce((sum, m) => sum + (m.distance ?? 0), 0),
        speed_max: speeds.length === 0 ? null : Math.max(...speeds),
        speed_mean: speeds.length === 0 ? null : speeds.reduce((a, b) => a + b, 0) / speeds.length
      })
    }
  }

  return {
    stats1m: statsOf(cells1m),
    stats5m: statsOf(cells5m),
    sessions: sessionsOut,
    lateDrops,
    observationsByPartition: byPartition.map((p) => p.length)
  }
}
